// A run labelled kueue.x-k8s.io/queue-name: each attempt is one Kueue pod group (a gang's
// ranks, or the single pod), so it is admitted whole or not at all and every attempt goes back
// through the queue. The pods' queue metadata, the Queued condition (one writer: this file)
// and when the attempt was admitted. Without the label nothing here applies.
import type { V1Pod } from "@kubernetes/client-node";
import type { AttemptRecord } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";
import {
  isQueueGated,
  PRIORITY_CLASS_LABEL,
  POD_GROUP_COUNT_ANNOTATION,
  POD_GROUP_LABEL,
  podGroupName,
  pendingReason,
  queueOf,
  QUEUE_LABEL,
  RETRIABLE_IN_GROUP_ANNOTATION,
  type QueueWorkload,
} from "../model/kueue.js";
import { findCondition } from "../model/conditions.js";
import { findRecord } from "../model/observe.js";
import { toTimestamp } from "../model/time.js";
import type { Draft } from "./draft.js";

/** The labels and annotations that put an attempt's pods in the run's queue as one group; empty without a queue. */
export function queueMetadata(run: TrainingRun, attempt: number, workers: number): { labels: Record<string, string>; annotations: Record<string, string> } {
  const queue = queueOf(run);
  if (queue === undefined) return { labels: {}, annotations: {} };
  const priority = run.metadata.labels?.[PRIORITY_CLASS_LABEL];
  return {
    labels: {
      [QUEUE_LABEL]: queue,
      ...(priority ? { [PRIORITY_CLASS_LABEL]: priority } : {}),
      [POD_GROUP_LABEL]: podGroupName(run.metadata.name ?? "", attempt),
    },
    annotations: { [POD_GROUP_COUNT_ANNOTATION]: String(workers), [RETRIABLE_IN_GROUP_ANNOTATION]: "false" },
  };
}

/** The Workload Kueue made for an attempt's group, if the cache has it (Observed.workloads). */
export function workloadOf(d: Draft, attempt: number): QueueWorkload | undefined {
  const name = podGroupName(d.observed.run.metadata.name ?? "", attempt);
  return d.observed.workloads?.find((w) => w.metadata?.name === name);
}

/**
 * The attempt's admission as its pods show it: queued while any pod is behind Kueue's gate
 * (it holds no node, no GPU), admitted once every pod is seen without one (admittedAt, the
 * start of the gang bound). Sets the Queued condition for a run with a queue; returns the
 * phase reason and message while queued, undefined once admitted or without a queue.
 */
export function followAdmission(d: Draft, record: AttemptRecord, pods: readonly (V1Pod | undefined)[]): { reason: string; message: string } | undefined {
  const queue = queueOf(d.observed.run);
  if (queue === undefined) return undefined;
  const seen = pods.filter((p) => p !== undefined);
  const gated = seen.some(isQueueGated);
  const workload = workloadOf(d, record.attempt);
  if (!gated && seen.length === pods.length && record.admittedAt === undefined) record.admittedAt = toTimestamp(d.now);
  if (!gated) {
    const by = workload?.status?.admission?.clusterQueue;
    // Without the Workload the pods alone cannot tell an admission from a Kueue that ignores them.
    if (by !== undefined) d.condition({ type: "Queued", status: "False", reason: "Admitted", message: `attempt ${record.attempt} was admitted from queue ${queue} by ClusterQueue ${by}` });
    else d.condition({ type: "Queued", status: "False", reason: "NotGated", message: `attempt ${record.attempt}'s pods are not held by Kueue: admitted from queue ${queue}, or Kueue does not manage them` });
    return undefined;
  }
  const kueue = pendingReason(workload);
  const why = kueue === undefined ? "waiting for Kueue's admission" : `${kueue.reason}${kueue.message ? `: ${kueue.message}` : ""}`;
  const message = `attempt ${record.attempt} waits in queue ${queue}: ${why}`;
  d.condition({ type: "Queued", status: "True", reason: kueue?.reason ?? "WaitingForAdmission", message });
  return { reason: "Queued", message };
}

/**
 * An attempt that ended while it waited (suspended, say) leaves no one in the queue: Queued
 * says so rather than keep an attempt's wait that is over. Call once the pass has settled the
 * attempts; a new attempt's pods say Queued again when they are seen.
 */
export function settleQueued(d: Draft): void {
  const queue = queueOf(d.observed.run);
  if (queue === undefined || findCondition(d.status.conditions, "Queued")?.status !== "True") return;
  const current = findRecord(d.status, d.status.attempt ?? 0);
  if (current !== undefined && current.endTime === undefined) return;
  d.condition({ type: "Queued", status: "False", reason: "NotWaiting", message: `no attempt waits in queue ${queue}` });
}
