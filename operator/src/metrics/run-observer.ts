import type { V1Pod } from "@kubernetes/client-node";
import { disruptionOf } from "@resumable/protocol";
import type { AttemptRecord, TrainingRunStatus } from "../api/status.js";
import { findRecord } from "../model/observe.js";
import { seenAt, toDate } from "../model/time.js";
import { attemptOfPod, podOfAttempt, readProgress, trainerStatus } from "../model/observe.js";
import type { OperatorMetrics } from "./operator-metrics.js";
import { runTime } from "./run-accounting.js";

/** Signals become label values: keep them to names, so a label set stays bounded. */
function reasonLabel(detail: string | undefined): string {
  return detail !== undefined && /^[A-Za-z][A-Za-z0-9]{0,39}$/.test(detail) ? detail : "Other";
}

/** Notice sources are short lower-case names (--notice-signals); anything else is "other". */
function sourceLabel(source: string | undefined): string {
  return source !== undefined && /^[a-z][a-z0-9-]{0,39}$/.test(source) ? source : "other";
}

/**
 * Turns what the controller sees of runs into the run-level counters. Counters move on
 * status *writes* (before → after), so a pass that only re-reads a status counts nothing,
 * and a restarted operator does not count history again.
 */
export class RunObserver {
  /** The newest attempt whose recovery was observed, per run key. */
  private readonly recovered = new Map<string, number>();
  /** The newest gang attempt whose restart was observed, per run key. */
  private readonly gangRestarted = new Map<string, number>();
  /** Per run key, the earliest disruption mark seen on its newest pods, epoch ms. */
  private readonly disrupted = new Map<string, { attempt: number; at: number }>();

  constructor(private readonly metrics: OperatorMetrics) {}

  statusWritten(before: TrainingRunStatus | undefined, after: TrainingRunStatus, now: Date): void {
    const started = (after.attempt ?? 0) - (before?.attempt ?? 0);
    if (started > 0) this.metrics.attempts.inc(started);
    for (const record of after.attempts ?? []) {
      this.noticeWritten(findRecord(before ?? {}, record.attempt), record);
      if (record.endTime === undefined || findRecord(before ?? {}, record.attempt)?.endTime !== undefined) continue;
      const reason = reasonLabel(record.endDetail);
      if (record.endReason === "Preempted") this.metrics.preemptions.inc({ reason });
      if (record.endReason === "Failed") this.metrics.failures.inc({ reason });
    }
    const lostSteps = (after.lostSteps ?? 0) - (before?.lostSteps ?? 0);
    if (lostSteps > 0) this.metrics.lostSteps.inc(lostSteps);
    const lostSeconds = runTime(after, now).lostSeconds - runTime(before, now).lostSeconds;
    if (lostSeconds > 0) this.metrics.lostSeconds.inc(lostSeconds);
    this.accountingWritten(before, after);
  }

  /** The fleet's capacity and cost counters: what the write added to the run's accounting. */
  private accountingWritten(before: TrainingRunStatus | undefined, after: TrainingRunStatus): void {
    const b = before?.accounting;
    const a = after.accounting;
    if (a !== undefined) {
      const add = (counter: { inc(n: number): void }, x: number | undefined, y: number | undefined) => {
        const d = (x ?? 0) - (y ?? 0);
        if (d > 0) counter.inc(d);
      };
      const m = this.metrics;
      add({ inc: (n) => m.gpuSeconds.inc({ capacity_type: "spot" }, n) }, a.spotGpuSeconds, b?.spotGpuSeconds);
      add({ inc: (n) => m.gpuSeconds.inc({ capacity_type: "on-demand" }, n) }, a.onDemandGpuSeconds, b?.onDemandGpuSeconds);
      add({ inc: (n) => m.capacitySeconds.inc({ capacity_type: "spot" }, n) }, a.spotSeconds, b?.spotSeconds);
      add({ inc: (n) => m.capacitySeconds.inc({ capacity_type: "on-demand" }, n) }, a.onDemandSeconds, b?.onDemandSeconds);
      add(m.lostGpuSeconds, a.lostGpuSeconds, b?.lostGpuSeconds);
      add({ inc: (n) => m.estimatedCost.inc({ capacity_type: "spot" }, n) }, a.spotCost, b?.spotCost);
      add({ inc: (n) => m.estimatedCost.inc({ capacity_type: "on-demand" }, n) }, a.onDemandCost, b?.onDemandCost);
      add(m.allOnDemandCost, a.allOnDemandCost, b?.allOnDemandCost);
    }
    const moves = (after.capacity?.moves ?? 0) - (before?.capacity?.moves ?? 0);
    if (moves > 0 && after.capacity) this.metrics.capacityMoves.inc({ to: after.capacity.type, reason: after.capacity.reason }, moves);
  }

  /** A notice, an early checkpoint and the notice's lead time, each counted when first written. */
  private noticeWritten(before: AttemptRecord | undefined, after: AttemptRecord): void {
    if (after.noticeAt === undefined) return;
    const source = sourceLabel(after.noticeSource);
    if (before?.noticeAt === undefined) this.metrics.reclaimNotices.inc({ source });
    if (after.earlyCheckpointStep !== undefined && after.earlyCheckpointStep !== before?.earlyCheckpointStep) this.metrics.earlyCheckpoints.inc({ source });
    if (after.noticeLeadSeconds !== undefined && before?.noticeLeadSeconds === undefined) this.metrics.noticeLead.observe({ source }, after.noticeLeadSeconds);
  }

  /**
   * Observes, once per attempt, the time from the disruption of a preempted attempt to the
   * trainer of the next one running. The disruption is the first mark on the old pod
   * (DisruptionTarget, or the delete request), else the attempt's recorded end.
   *
   * Kubernetes stamps those moments in whole seconds, coarser than a fast recovery, so a
   * moment this process sees as it happens is taken from its own clock (`now`, watch
   * latency included on both ends); one seen late (after a restart) from the API.
   */
  podsSeen(runKey: string, runName: string, status: TrainingRunStatus | undefined, pods: readonly V1Pod[], now: Date): void {
    const attempt = status?.attempt ?? 0;
    // A gang's rank 0 stands for the attempt here, as its single pod does.
    const newestPod = podOfAttempt(pods, runName, attempt);
    const newest = pods.filter((pod) => attemptOfPod(pod, runName) === attempt);
    // Marks are taken while the pods are the newest: their successors come only after the end.
    const marks = newest.flatMap((pod) => disruptionOf(pod)?.markedAt ?? []);
    if (marks.length > 0 && this.disrupted.get(runKey)?.attempt !== attempt) {
      this.disrupted.set(runKey, { attempt, at: seenAt(Math.min(...marks), now) });
    }
    if (attempt < 2) return;
    const previous = findRecord(status ?? {}, attempt - 1);
    const ended = toDate(previous?.endTime);
    if (previous?.endReason !== "Preempted" || ended === undefined) return;
    const marked = this.disrupted.get(runKey);
    const from = marked?.attempt === attempt - 1 ? Math.min(marked.at, ended.getTime()) : ended.getTime();
    const started = toDate(newestPod && trainerStatus(newestPod)?.state?.running?.startedAt);
    if (started !== undefined && (this.recovered.get(runKey) ?? 0) < attempt) {
      this.recovered.set(runKey, attempt);
      this.metrics.recoveryDuration.observe(Math.max(0, (seenAt(started.getTime(), now) - from) / 1000));
    }
    const training = gangTraining(findRecord(status ?? {}, attempt), newest, runName);
    if (training !== undefined && (this.gangRestarted.get(runKey) ?? 0) < attempt) {
      this.gangRestarted.set(runKey, attempt);
      this.metrics.gangRestart.observe(Math.max(0, (seenAt(training, now) - from) / 1000));
    }
  }

  runDeleted(runKey: string): void {
    this.recovered.delete(runKey);
    this.gangRestarted.delete(runKey);
    this.disrupted.delete(runKey);
  }
}


/**
 * When a gang's attempt was training again: once every rank has reported a step, the newest
 * of their reports (the trainer's updatedAt; the pass that first sees them all follows it
 * closely). Undefined for a single pod, or while a rank has not reported.
 */
function gangTraining(record: AttemptRecord | undefined, pods: readonly V1Pod[], runName: string): number | undefined {
  const ranks = record?.ranks;
  if (ranks === undefined) return undefined;
  const reports = ranks.map((r) => {
    const pod = pods.find((p) => p.metadata?.name === r.pod && attemptOfPod(p, runName) === record?.attempt);
    return pod === undefined ? undefined : readProgress(pod);
  });
  if (reports.some((p) => p === undefined)) return undefined;
  const times = reports.map((p) => toDate(p?.updatedAt)?.getTime() ?? Number.NaN);
  return times.some(Number.isNaN) ? undefined : Math.max(...times);
}
