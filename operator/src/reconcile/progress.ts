// What the trainer's progress reports change: status.progress and lastCheckpoint (the newest
// attempt's), each attempt's reached and resumed-from steps, the lost steps a resume costs,
// and the conditions about reports and saves (CheckpointFailing, ProgressReported,
// FlushAtRisk). How
// often a progress-only change is written is progress-writes.ts's.
import type { V1Pod } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION, lostStepsOf, type CheckpointFailure } from "@resumable/protocol";
import type { AttemptRecord } from "../api/status.js";
import { findCondition } from "../model/conditions.js";
import { findRecord, trainerStatus, type ProgressReport } from "../model/observe.js";
import { toDate } from "../model/time.js";
import type { Draft } from "./draft.js";

/** Zero rather than blank in `kubectl get tr`. */
export function countLostSteps(d: Draft): void {
  d.status.lostSteps ??= 0;
}

/**
 * A progress report of an attempt (its annotation while it runs, its summary at exit).
 * status.progress and lastCheckpoint follow the newest attempt only: whatever it reports is
 * the truth, even a lower step after it fell back from a corrupt newest checkpoint.
 */
export function noteProgress(d: Draft, record: AttemptRecord, report: ProgressReport): void {
  if (report.resumedFromStep !== undefined) noteResumedFrom(d, record, report.resumedFromStep);
  record.reachedStep = Math.max(record.reachedStep ?? report.step, report.step);
  if (record.attempt !== d.status.attempt) return;
  d.status.progress = {
    step: report.step,
    ...(report.totalSteps === undefined ? {} : { totalSteps: report.totalSteps }),
    ...(report.epoch === undefined ? {} : { epoch: report.epoch }),
    ...(report.loss === undefined ? {} : { loss: report.loss }),
    // Never stamped with the pass's clock: a status that changes on every pass would
    // trigger the next pass through its own watch event.
    ...(report.updatedAt === undefined ? {} : { updatedAt: report.updatedAt }),
  };
  if (report.checkpoint) d.status.lastCheckpoint = report.checkpoint;
  if (report.checkpointFailure) noteCheckpointFailing(d, report.checkpointFailure);
  else if (report.checkpointFailure === null) clearCheckpointFailing(d, "a checkpoint save succeeded");
}

const CHECKPOINT_FAILING = "CheckpointFailing";

/** Periodic saves fail while training goes on: the newest checkpoint ages, say so once. */
function noteCheckpointFailing(d: Draft, failure: CheckpointFailure): void {
  const saves = failure.failures === 1 ? "1 checkpoint save" : `${failure.failures} checkpoint saves in a row`;
  const message = `${saves} failed since ${failure.since}: ${failure.message}`;
  if (d.condition({ type: CHECKPOINT_FAILING, status: "True", reason: "SaveFailing", message })) {
    d.event("Warning", CHECKPOINT_FAILING, message);
  }
}

/** Ends a CheckpointFailing streak; a run that never had one gets no condition. */
export function clearCheckpointFailing(d: Draft, message: string): void {
  if (findCondition(d.status.conditions, CHECKPOINT_FAILING)?.status !== "True") return;
  d.condition({ type: CHECKPOINT_FAILING, status: "False", reason: "SaveSucceeded", message });
  d.event("Normal", "CheckpointSaved", `Checkpoints are saved again: ${message}`);
}

/**
 * The first time an attempt says where it resumed from, its lost steps (the protocol's rule)
 * join status.lostSteps: a running total, as the history it is computed from is trimmed.
 */
function noteResumedFrom(d: Draft, record: AttemptRecord, step: number): void {
  if (record.resumedFromStep !== undefined) return;
  record.resumedFromStep = step;
  const previous = findRecord(d.status, record.attempt - 1);
  const lost = lostStepsOf(previous, record);
  if (lost !== undefined) d.status.lostSteps = (d.status.lostSteps ?? 0) + lost;
  if (previous !== undefined || step > 0) {
    d.event("Normal", "Resumed", `Attempt ${record.attempt} resumed from step ${step} (${lost ?? 0} steps lost)`);
  }
}

// ---- Whether the running trainer reports ----

const PROGRESS_REPORTED = "ProgressReported";

/**
 * Whether the running trainer of the newest attempt reports progress. A trainer whose
 * ServiceAccount may not patch its own pod (no Role, a refusing admission policy, no token)
 * trains on silently, and `kubectl get tr` shows no step until the end: after
 * settings.progressReportTimeoutSeconds of running without a report, say so and name what
 * to check. Time comes from the pass's `now`, so this stays pure.
 */
export function watchProgressReports(d: Draft, record: AttemptRecord, pod: V1Pod, reported: boolean): void {
  if (record.attempt !== d.status.attempt) return;
  if (reported) {
    d.condition({ type: PROGRESS_REPORTED, status: "True", reason: "ProgressReported", message: `attempt ${record.attempt} reports its progress` });
    return;
  }
  const running = trainerStatus(pod)?.state?.running;
  if (pod.status?.phase !== "Running" || running === undefined) return;
  const since = toDate(running.startedAt) ?? toDate(record.startTime);
  if (since === undefined) return;
  const timeoutMs = d.settings.progressReportTimeoutSeconds * 1000;
  const dueAt = since.getTime() + timeoutMs;
  if (d.now.getTime() < dueAt) {
    d.requeueIn(dueAt - d.now.getTime());
    return;
  }
  const account = pod.spec?.serviceAccountName ?? d.settings.trainerServiceAccountName ?? "default";
  const message =
    `attempt ${record.attempt}'s trainer (pod ${pod.metadata?.name}) has run ${d.settings.progressReportTimeoutSeconds}s ` +
    `without a ${PROGRESS_ANNOTATION} report: check that ServiceAccount ${account} may patch its own pod ` +
    `(the chart's trainer Role and ValidatingAdmissionPolicy resumable-trainer-progress) and that its token is mounted`;
  if (d.condition({ type: PROGRESS_REPORTED, status: "False", reason: "NoProgressReports", message })) {
    d.event("Warning", "NoProgressReports", message);
  }
}

// ---- Whether a final flush fits the grace period ----

const FLUSH_AT_RISK = "FlushAtRisk";
/** A flush measured above this share of the grace period is at risk: a step or a write can take longer than their mean. */
const FLUSH_SHARE = 0.8;

/**
 * Whether the final flush at SIGTERM, as the trainer measures it (a step, the snapshot, the
 * write), fits the pod's grace period with room to spare: a flush cut short by SIGKILL loses
 * every step since the last periodic save, so say so before a preemption does. A measured
 * reclaim notice of an earlier attempt (notice to the pod's end) is the margin a notice gave.
 */
export function watchFlushFit(d: Draft, record: AttemptRecord, pod: V1Pod, flushSeconds: number): void {
  if (record.attempt !== d.status.attempt) return;
  const grace = pod.spec?.terminationGracePeriodSeconds;
  if (grace === undefined || grace === null) return;
  const measured = `a final flush is measured at ${flushSeconds.toFixed(1)} s (a step, the snapshot and the write)`;
  if (flushSeconds <= grace * FLUSH_SHARE) {
    const message = `${measured}, within the ${grace} s grace period`;
    const was = findCondition(d.status.conditions, FLUSH_AT_RISK)?.status;
    if (d.condition({ type: FLUSH_AT_RISK, status: "False", reason: "FlushFits", message }) && was === "True") d.event("Normal", "FlushFits", message);
    return;
  }
  const notice = noticeMargin(d);
  const message =
    `${measured}, and the pod has ${grace} s between SIGTERM and SIGKILL: a preemption could cut it short and lose the steps since ` +
    `the last periodic save. Raise spec.preemption.gracePeriodSeconds to at least ${Math.ceil(flushSeconds / FLUSH_SHARE)}, or make saves cheaper` +
    (notice === undefined ? "" : `; ${notice}`);
  if (d.condition({ type: FLUSH_AT_RISK, status: "True", reason: "FlushLongerThanGrace", message })) d.event("Warning", FLUSH_AT_RISK, message);
}

/** The newest attempt of this run that had a reclaim notice, and how long before its pod ended it came. */
function noticeMargin(d: Draft): string | undefined {
  const noticed = [...(d.status.attempts ?? [])].reverse().find((r) => r.noticeAt !== undefined && r.endTime !== undefined);
  const at = toDate(noticed?.noticeAt);
  const end = toDate(noticed?.endTime);
  if (noticed === undefined || at === undefined || end === undefined) return undefined;
  const seconds = Math.round((end.getTime() - at.getTime()) / 1000);
  return `attempt ${noticed.attempt}'s reclaim notice (${noticed.noticeSource ?? "a notice"}) came ${seconds} s before its pod ended, and the checkpoint it asks for does not wait for SIGTERM`;
}
