import type { V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import { ATTEMPT_LABEL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { isOwnedBy } from "./owner.js";

/** The run's pods sorted by what the decision needs from them. */
export interface ObservedPods {
  /** Trainer pods this run owns, by attempt number. */
  byAttempt: ReadonlyMap<number, V1Pod>;
  /** The highest attempt number among them; 0 when there are none. */
  newestAttempt: number;
  /**
   * Pods not yet Succeeded/Failed, owned or not (a previous run of the same name may
   * still be stopping): while any exists no new attempt starts, so at most one trainer
   * writes the checkpoints.
   */
  alive: readonly V1Pod[];
}

export function sortPods(pods: readonly V1Pod[], run: TrainingRun): ObservedPods {
  const byAttempt = new Map<number, V1Pod>();
  for (const pod of pods) {
    const attempt = attemptOf(pod);
    if (attempt !== undefined && isOwnedBy(pod, run)) byAttempt.set(attempt, pod);
  }
  return {
    byAttempt,
    newestAttempt: Math.max(0, ...byAttempt.keys()),
    alive: pods.filter(isAlive),
  };
}

export function isAlive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

/** Deletion requested, object still there (pods and PVCs alike). */
export function isTerminating(object: { metadata?: V1ObjectMeta }): boolean {
  return object.metadata?.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

function attemptOf(pod: V1Pod): number | undefined {
  const label = pod.metadata?.labels?.[ATTEMPT_LABEL];
  const attempt = label === undefined ? NaN : Number(label);
  return Number.isInteger(attempt) && attempt > 0 ? attempt : undefined;
}
