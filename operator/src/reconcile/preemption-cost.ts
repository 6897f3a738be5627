// What preempting a queued run would cost now, published for whoever chooses victims: Kueue
// v0.19 has no hook for it (kueue #477 asks to choose by checkpoint recency), so it is data, in
// status.preemptionCost and, on the attempt's checkpointing pod (rank 0), the annotation
// resumable.dev/preemption-cost. Both follow status.progress: the one writer is this file, and
// progress-writes.ts holds them back with progress, so neither moves more often than the
// coalesced progress writes, never once per report. Runs without a queue publish nothing.
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunStatus } from "../api/status.js";
import { queueOf } from "../model/kueue.js";
import { podOfAttempt } from "../model/observe.js";
import { toDate } from "../model/time.js";
import type { Draft } from "./draft.js";

/** On the checkpointing pod: status.preemptionCost as JSON, for tools that read pods (or the Workload's owners). */
export const PREEMPTION_COST_ANNOTATION = "resumable.dev/preemption-cost";

type Cost = NonNullable<TrainingRunStatus["preemptionCost"]>;

/**
 * From the newest report and checkpoint: the steps since the newest committed checkpoint (what
 * a stop without a final flush loses; with one, a graceful preemption loses none) and the time
 * they took. Only while the run is Running in a queue; otherwise nothing is at stake.
 */
export function notePreemptionCost(d: Draft): void {
  const progress = d.status.progress;
  if (queueOf(d.observed.run) === undefined || d.status.phase !== "Running" || progress === undefined) {
    delete d.status.preemptionCost;
    return;
  }
  const checkpoint = d.status.lastCheckpoint;
  const saved = toDate(checkpoint?.time);
  const reported = toDate(progress.updatedAt);
  const cost: Cost = {
    ...(checkpoint === undefined ? {} : { checkpointStep: checkpoint.step }),
    ...(checkpoint?.time === undefined ? {} : { checkpointTime: checkpoint.time }),
    stepsAtRisk: Math.max(0, progress.step - (checkpoint?.step ?? 0)),
    ...(saved !== undefined && reported !== undefined ? { secondsAtRisk: Math.max(0, (reported.getTime() - saved.getTime()) / 1000) } : {}),
    ...(progress.updatedAt === undefined ? {} : { reportedAt: progress.updatedAt }),
  };
  d.status.preemptionCost = cost;
}

/**
 * The annotation, as the status will be written (call after coalesceProgress): patched on the
 * current attempt's rank 0 when it says something else, so it changes when the status does.
 */
export function publishPreemptionCost(d: Draft, pods: readonly V1Pod[]): void {
  const cost = d.status.preemptionCost;
  if (cost === undefined) return;
  const pod = podOfAttempt(pods, d.observed.run.metadata.name ?? "", d.status.attempt ?? 0);
  const uid = pod?.metadata?.uid;
  const value = JSON.stringify(cost);
  if (pod === undefined || uid === undefined || pod.metadata?.deletionTimestamp || pod.metadata?.annotations?.[PREEMPTION_COST_ANNOTATION] === value) return;
  d.actions.push({ kind: "annotatePod", name: pod.metadata?.name ?? "", uid, annotation: PREEMPTION_COST_ANNOTATION, value, purpose: "publishing what a preemption would cost" });
}
