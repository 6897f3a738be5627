import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunStatus } from "../api/status.js";
import { findRecord } from "../reconcile/attempts.js";
import { podName } from "../reconcile/names.js";
import { toDate } from "../reconcile/time.js";
import { trainerStatus } from "../reconcile/trainer-reports.js";
import type { OperatorMetrics } from "./operator-metrics.js";
import { runTime } from "./run-accounting.js";

/** Signals become label values: keep them to names, so a label set stays bounded. */
function reasonLabel(detail: string | undefined): string {
  return detail !== undefined && /^[A-Za-z][A-Za-z0-9]{0,39}$/.test(detail) ? detail : "Other";
}

/**
 * When a pod was first told to go: its DisruptionTarget condition, or the delete request
 * (deletionTimestamp is the kill deadline, so the grace period is taken off again).
 */
function disruptedAt(pod: V1Pod): number | undefined {
  const marks: number[] = [];
  const condition = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  const conditionAt = toDate(condition?.lastTransitionTime);
  if (conditionAt) marks.push(conditionAt.getTime());
  const deadline = toDate(pod.metadata?.deletionTimestamp);
  if (deadline) marks.push(deadline.getTime() - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000);
  return marks.length > 0 ? Math.min(...marks) : undefined;
}

/**
 * Turns what the controller sees of runs into the run-level counters. Counters move on
 * status *writes* (before → after), so a pass that only re-reads a status counts nothing,
 * and a restarted operator does not count history again.
 */
export class RunObserver {
  /** The newest attempt whose recovery was observed, per run key. */
  private readonly recovered = new Map<string, number>();
  /** Per run key, the earliest disruption mark seen on its newest pod, epoch ms. */
  private readonly disrupted = new Map<string, { attempt: number; at: number }>();

  constructor(private readonly metrics: OperatorMetrics) {}

  statusWritten(before: TrainingRunStatus | undefined, after: TrainingRunStatus, now: Date): void {
    const started = (after.attempt ?? 0) - (before?.attempt ?? 0);
    if (started > 0) this.metrics.attempts.inc(started);
    for (const record of after.attempts ?? []) {
      if (record.endTime === undefined || findRecord(before ?? {}, record.attempt)?.endTime !== undefined) continue;
      const reason = reasonLabel(record.endDetail);
      if (record.endReason === "Preempted") this.metrics.preemptions.inc({ reason });
      if (record.endReason === "Failed") this.metrics.failures.inc({ reason });
    }
    const lostSteps = (after.lostSteps ?? 0) - (before?.lostSteps ?? 0);
    if (lostSteps > 0) this.metrics.lostSteps.inc(lostSteps);
    const lostSeconds = runTime(after, now).lostSeconds - runTime(before, now).lostSeconds;
    if (lostSeconds > 0) this.metrics.lostSeconds.inc(lostSeconds);
  }

  /**
   * Observes, once per attempt, the time from the disruption of a preempted attempt to the
   * trainer of the next one running. The disruption is when the old pod was first marked
   * (DisruptionTarget, or the delete request), if this process saw it; else when the
   * attempt's end was recorded.
   */
  podsSeen(runKey: string, runName: string, status: TrainingRunStatus | undefined, pods: readonly V1Pod[]): void {
    const attempt = status?.attempt ?? 0;
    const newestPod = pods.find((p) => p.metadata?.name === podName(runName, attempt));
    // Marks are taken while the pod is the newest: its successor comes only after its end.
    const at = newestPod && disruptedAt(newestPod);
    const known = this.disrupted.get(runKey);
    if (at !== undefined && !(known?.attempt === attempt && known.at <= at)) this.disrupted.set(runKey, { attempt, at });
    if (attempt < 2 || (this.recovered.get(runKey) ?? 0) >= attempt) return;
    const previous = findRecord(status ?? {}, attempt - 1);
    const ended = toDate(previous?.endTime);
    if (previous?.endReason !== "Preempted" || ended === undefined) return;
    const running = toDate(newestPod && trainerStatus(newestPod)?.state?.running?.startedAt);
    if (running === undefined) return;
    const marked = this.disrupted.get(runKey);
    const start = marked?.attempt === attempt - 1 ? Math.min(marked.at, ended.getTime()) : ended.getTime();
    this.recovered.set(runKey, attempt);
    this.metrics.recoveryDuration.observe(Math.max(0, (running.getTime() - start) / 1000));
  }

  runDeleted(runKey: string): void {
    this.recovered.delete(runKey);
    this.disrupted.delete(runKey);
  }
}
