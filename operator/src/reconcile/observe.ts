// What the controller gathers about a run, read from the cached objects: its pods classified
// by attempt, and the trainer's own reports (progress annotation, exit summary) parsed
// through the protocol package. Nothing here decides anything.
import type { V1ContainerStatus, V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import {
  PROGRESS_ANNOTATION,
  failureMessage,
  parseExitSummary,
  parseProgress,
  resumedFrom,
  type CheckpointFailure,
  type ParsedExitSummary,
} from "@resumable/protocol";
import { ATTEMPT_LABEL } from "../api/group.js";
import type { CheckpointInfo, TrainerSummary } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";

// ---- The run's pods ----

/** The run's pods, classified by what the decision needs from them. */
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

export function classifyPods(pods: readonly V1Pod[], run: TrainingRun): ObservedPods {
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

/** False for a pod left over from an earlier run of the same name (deleted and recreated). */
function isOwnedBy(pod: V1Pod, run: TrainingRun): boolean {
  return pod.metadata?.ownerReferences?.some((r) => r.controller === true && r.uid === run.metadata.uid) ?? false;
}

// ---- The trainer's reports ----

/** The trainer container's name in every trainer pod. */
export const TRAINER_CONTAINER = "trainer";

/** A progress report in the operator's terms: undefined where the trainer wrote null ("none yet"). */
export interface ProgressReport {
  step: number;
  totalSteps?: number | undefined;
  epoch?: number | undefined;
  loss?: number | undefined;
  /** 0 for a fresh start; undefined when the trainer does not say. */
  resumedFromStep?: number | undefined;
  checkpoint?: CheckpointInfo | undefined;
  /** null: the last save succeeded; undefined: the trainer does not say. */
  checkpointFailure?: CheckpointFailure | null | undefined;
  updatedAt?: string | undefined;
}

/** The trainer's latest progress report, or undefined when absent or malformed (never trusted blindly). */
export function readProgress(pod: V1Pod): ProgressReport | undefined {
  const p = parseProgress(pod.metadata?.annotations?.[PROGRESS_ANNOTATION]);
  if (p === undefined) return undefined;
  return {
    step: p.step,
    totalSteps: p.totalSteps ?? undefined,
    epoch: p.epoch ?? undefined,
    loss: p.loss ?? undefined,
    resumedFromStep: resumedFrom(p),
    checkpoint: p.checkpoint ?? undefined,
    checkpointFailure: p.checkpointFailure,
    updatedAt: p.updatedAt ?? undefined,
  };
}

export function trainerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER);
}

/** The summary the trainer left in its termination message (or as the last line of its log tail). */
export const readSummary = parseExitSummary;

/** How much of a termination message without a summary is quoted in conditions and events. */
const QUOTED_CHARS = 500;

/**
 * What the trainer said about its failure: its summary's failure message, or from a trainer
 * that wrote no summary the end of its termination message (its own text, or its log tail).
 */
export function trainerMessage(summary: ParsedExitSummary | undefined, terminationMessage: string | undefined): string | undefined {
  if (summary !== undefined) return failureMessage(summary);
  const text = terminationMessage?.trim();
  if (!text) return undefined;
  return text.length > QUOTED_CHARS ? `…${text.slice(-QUOTED_CHARS)}` : text;
}

/** The summary as status.result keeps it: null says nothing, so it is left out. */
export function summaryForStatus(summary: ParsedExitSummary): TrainerSummary {
  return JSON.parse(JSON.stringify(summary), (_key, value: unknown) => (value === null ? undefined : value)) as TrainerSummary;
}
