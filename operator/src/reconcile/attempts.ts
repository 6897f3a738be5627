import type { V1Pod } from "@kubernetes/client-node";
import { lostStepsOf, type CheckpointFailure } from "@resumable/protocol";
import type { AttemptRecord, TrainingRunStatus } from "../api/status.js";
import { findCondition } from "./conditions.js";
import type { Draft } from "./draft.js";
import { seenAt, toDate, toTimestamp } from "./time.js";
import type { ProgressReport } from "./trainer-reports.js";

/**
 * status.attempts is the operator's memory of every attempt it started: the record is
 * written before (or with) the pod, and an attempt's outcome is counted only when its
 * record gains an endTime, so seeing the same pod again never counts it twice.
 */
export function findRecord(status: TrainingRunStatus, attempt: number): AttemptRecord | undefined {
  return status.attempts?.find((r) => r.attempt === attempt);
}

export function addRecord(status: TrainingRunStatus, attempt: number, pod: string): AttemptRecord {
  const record: AttemptRecord = { attempt, pod };
  status.attempts = [...(status.attempts ?? []), record].sort((a, b) => a.attempt - b.attempt);
  return record;
}

/**
 * Facts about the pod that only exist once it does. Its start is taken as seen (seenAt):
 * the kubelet's whole-second stamp could put a quick successor's start before its
 * predecessor's end, and recovery times and goodput are computed from these records.
 */
export function notePod(record: AttemptRecord, pod: V1Pod, now: Date): void {
  const uid = pod.metadata?.uid;
  const node = pod.spec?.nodeName;
  const started = toDate(pod.status?.startTime);
  if (uid !== undefined) record.uid = uid;
  if (node !== undefined) record.node = node;
  if (started !== undefined) record.startTime ??= toTimestamp(new Date(seenAt(started.getTime(), now)));
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

/** Keeps the newest records (an unfinished attempt is always among them), never fewer than 2. */
export function trimHistory(status: TrainingRunStatus, limit: number): void {
  const keep = Math.max(2, limit);
  if (status.attempts && status.attempts.length > keep) status.attempts = status.attempts.slice(-keep);
}
