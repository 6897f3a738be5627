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
 * Turns what the controller sees of runs into the run-level counters. Counters move on
 * status *writes* (before → after), so a pass that only re-reads a status counts nothing,
 * and a restarted operator does not count history again.
 */
export class RunObserver {
  /** The newest attempt whose recovery was observed, per run key. */
  private readonly recovered = new Map<string, number>();

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
   * Observes, once per attempt, the time from a preempted attempt's end to the trainer of
   * the next one running.
   */
  podsSeen(runKey: string, runName: string, status: TrainingRunStatus | undefined, pods: readonly V1Pod[]): void {
    const attempt = status?.attempt ?? 0;
    if (attempt < 2 || (this.recovered.get(runKey) ?? 0) >= attempt) return;
    const previous = findRecord(status ?? {}, attempt - 1);
    const ended = toDate(previous?.endTime);
    if (previous?.endReason !== "Preempted" || ended === undefined) return;
    const pod = pods.find((p) => p.metadata?.name === podName(runName, attempt));
    const running = toDate(pod && trainerStatus(pod)?.state?.running?.startedAt);
    if (running === undefined) return;
    this.recovered.set(runKey, attempt);
    this.metrics.recoveryDuration.observe(Math.max(0, (running.getTime() - ended.getTime()) / 1000));
  }

  runDeleted(runKey: string): void {
    this.recovered.delete(runKey);
  }
}
