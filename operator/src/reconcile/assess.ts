// What each pod and attempt means: how a pod's attempt ended (or whether its node is lost),
// the attempt history in status.attempts with the lost steps the protocol's rule counts,
// the budgets an ended attempt is charged to, and whether a running trainer reports.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { exponentialDelay } from "@resumable/kube-runtime";
import {
  PROGRESS_ANNOTATION,
  disruptionOf,
  exitReason,
  lostStepsOf,
  resumedFrom,
  type CheckpointFailure,
  type FailureKind,
  type ParsedExitSummary,
  type PlannedStop,
} from "@resumable/protocol";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, EndReason, TrainingRunStatus } from "../api/status.js";
import { afterAttemptEnd } from "./capacity.js";
import { findRecord, readSummary, summaryForStatus, trainerMessage, trainerStatus, type ProgressReport } from "../model/observe.js";
import { findCondition } from "../model/conditions.js";
import { seenAt, toDate, toTimestamp } from "../model/time.js";
import type { Draft } from "./draft.js";

// ---- One pod: ended, running, or on a lost node ----

/** How an attempt ended, decided from one pod. */
export interface Outcome {
  reason: Exclude<EndReason, "Suspended">;
  /** The signal it was decided from: a DisruptionTarget reason, OOMKilled, ExitCode, … */
  detail: string;
  exitCode?: number;
  summary?: ParsedExitSummary;
  /** The trainer's own words about a failure (its summary's failure.message or error). */
  message?: string;
  /** A failure a retry cannot fix: a rejected config or a storage refusal (exit 2), unusable checkpoints (exit 5). */
  permanent?: boolean;
}

export type PodAssessment =
  | { ended: Outcome }
  | { ended?: undefined; running: boolean; node: NodeHealth };

export type NodeHealth = { lost: false } | { lost: true; since?: Date };

/** Waiting reasons after which the trainer will not start without a change somewhere. */
const CANNOT_START_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "InvalidImageName",
  "ImagePullBackOff",
  "ErrImageNeverPull",
]);

/** The detail of a failure the trainer named by its exit code (docs/trainer-protocol.md). */
const EXIT_FAILURES: Partial<Record<NonNullable<ReturnType<typeof exitReason>>, { detail: string; permanent?: true }>> = {
  config: { detail: "InvalidConfig", permanent: true },
  fenced: { detail: "Fenced" },
  storage: { detail: "StorageError" },
  checkpointsUnusable: { detail: "CheckpointsUnusable", permanent: true },
  diverged: { detail: "Diverged" },
};

/** Exit 2 failures about checkpoint storage, by the summary's failure kind: not InvalidConfig of spec.training. */
const STORAGE_CONFIG_FAILURES: Partial<Record<FailureKind, { detail: string; permanent: true }>> = {
  storageRefused: { detail: "StorageRefused", permanent: true },
  locationOwned: { detail: "StorageInUse", permanent: true },
};

/** `planned`: the operator asked this pod to stop for a planned move (see disruptionOf). */
export function assessPod(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>, planned?: PlannedStop): PodAssessment {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { ended: terminalOutcome(pod, planned) };
  const waiting = trainerStatus(pod)?.state?.waiting?.reason;
  if (waiting !== undefined && CANNOT_START_REASONS.has(waiting)) {
    return { ended: { reason: "Failed", detail: waiting } };
  }
  return { running: phase === "Running", node: nodeHealth(pod, nodes) };
}

function terminalOutcome(pod: V1Pod, planned: PlannedStop | undefined): Outcome {
  const terminated = trainerStatus(pod)?.state?.terminated;
  const exitCode = terminated?.exitCode;
  const summary = readSummary(terminated?.message);
  const ended = (reason: Outcome["reason"], detail: string, extra: Partial<Outcome> = {}): Outcome => ({
    reason,
    detail,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(summary === undefined ? {} : { summary }),
    ...extra,
  });

  const disruption = disruptionOf(pod, { code: exitCode, summary }, planned);
  if (disruption?.planned) return ended("Moved", "ReturnToSpot");
  if (disruption !== undefined) return ended("Preempted", disruption.signal);
  if (exitCode === 0 && summary?.reason !== "failed") return ended("Succeeded", "Completed");
  const message = trainerMessage(summary, terminated?.message);
  const failed = (detail: string, permanent?: boolean) =>
    ended("Failed", detail, { ...(message === undefined ? {} : { message }), ...(permanent ? { permanent } : {}) });
  if (terminated?.reason === "OOMKilled") return failed("OOMKilled");
  // Exit 2 is a refused config unless the summary says the checkpoint store refused the
  // trainer, or that another run owns the checkpoint location.
  const configKind = exitReason(exitCode) === "config" ? summary?.failure?.kind : undefined;
  const named = (configKind && STORAGE_CONFIG_FAILURES[configKind]) ?? EXIT_FAILURES[exitReason(exitCode) ?? "failed"];
  if (named !== undefined) return failed(named.detail, named.permanent);
  if (exitCode !== undefined) return failed("ExitCode");
  // Failed without the trainer ever running, e.g. rejected at kubelet admission.
  return ended("Failed", pod.status?.reason ?? "PodFailed");
}

function nodeHealth(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>): NodeHealth {
  const nodeName = pod.spec?.nodeName;
  // No nodes at all means a node cache that is empty or broken (the operator itself runs on
  // a node), not a cluster without nodes: giving up every pod on that evidence would be worse.
  if (nodeName === undefined || nodes.size === 0) return { lost: false };
  const node = nodes.get(nodeName);
  if (node === undefined) return { lost: true };
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "True") return { lost: false };
  const since = toDate(ready?.lastTransitionTime);
  return since === undefined ? { lost: true } : { lost: true, since };
}

// ---- The attempt history ----

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
function clearCheckpointFailing(d: Draft, message: string): void {
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

// ---- An attempt's end and the budget it is charged to ----

/** Why retrying a permanent failure cannot help, by its detail. */
const PERMANENT_BECAUSE: Record<string, string> = {
  // Exit 2 is a configuration the trainer refuses (spec.training, its environment), or, with
  // failure kind storageRefused, checkpoint storage that refuses the trainer.
  InvalidConfig: "the trainer rejected its configuration (spec.training or its environment), retrying cannot help",
  StorageRefused:
    "the checkpoint storage refused the trainer (unknown key, wrong secret, access denied, no such bucket, or no credentials configured), " +
    "retrying cannot help; fix spec.checkpoint.storage (bucket, endpoint, region, credentialsSecret) or the identity it uses",
  StorageInUse:
    "the checkpoint location belongs to another run (its fence names another namespace/name/uid; the trainer touched nothing there), " +
    "retrying cannot help; give this run its own spec.checkpoint.storage, or see docs/trainer-protocol.md (Ownership) to take the location over on purpose",
  CheckpointsUnusable:
    "checkpoints exist but none loads and spec.checkpoint.allowFreshStart is false, retrying cannot help; " +
    "repair or replace the checkpoint volume, or start a run with allowFreshStart: true to train from step 0",
};

/**
 * Records how an attempt ended and charges the matching budget. Called only for a record
 * without endTime, and sets it: this is the one place counters move.
 */
export function endAttempt(d: Draft, record: AttemptRecord, outcome: Outcome, spec: TrainingRunSpec): void {
  // A trainer stopped because the run was suspended is neither preempted nor failed. The
  // spec is checked too, in case the status write that recorded the stop was lost.
  const suspended = record.stoppedForSuspend === true || spec.suspend;
  const endReason = outcome.reason === "Preempted" && suspended ? "Suspended" : outcome.reason;
  record.endTime = toTimestamp(d.now);
  const noticeAt = toDate(record.noticeAt);
  // The time a notice bought: to the attempt's end as the operator sees it.
  if (noticeAt) record.noticeLeadSeconds = Math.max(0, (d.now.getTime() - noticeAt.getTime()) / 1000);
  record.endReason = endReason;
  record.endDetail = outcome.detail;
  if (outcome.exitCode !== undefined) record.exitCode = outcome.exitCode;
  delete record.nodeLostAt;
  if (outcome.summary) noteSummary(d, record, outcome.summary);
  noteCapacity(d, record, spec);

  const at = `Attempt ${record.attempt} (pod ${record.pod}${record.node ? ` on node ${record.node}` : ""})`;
  const exit = outcome.exitCode === undefined ? "" : `, exit code ${outcome.exitCode}`;
  switch (endReason) {
    case "Succeeded":
      d.status.phase = "Succeeded";
      d.status.completionTime = toTimestamp(d.now);
      if (outcome.summary) d.status.result = summaryForStatus(outcome.summary);
      clearCheckpointFailing(d, "the final checkpoint committed");
      d.condition({ type: "Complete", status: "True", reason: "TrainingCompleted", message: `${at} completed` });
      d.event("Normal", "Succeeded", `${at} completed training at step ${record.reachedStep ?? "?"}`);
      return;
    case "Preempted": {
      const preemptions = (d.status.preemptions = (d.status.preemptions ?? 0) + 1);
      d.event("Warning", "Preempted", `${at} was preempted (${outcome.detail}) at step ${record.reachedStep ?? "?"}`);
      const max = spec.preemption.maxPreemptions;
      if (max !== undefined && preemptions > max) {
        failRun(d, "MaxPreemptionsExceeded", `${preemptions} preemptions exceed spec.preemption.maxPreemptions (${max})`);
      }
      return;
    }
    case "Failed": {
      const failures = (d.status.failures = (d.status.failures ?? 0) + 1);
      // The trainer's own words: the operator's labels alone hide which file or field it was.
      const why = `${at} failed (${outcome.detail}${exit})${outcome.message === undefined ? "" : `: ${outcome.message}`}`;
      const max = spec.failurePolicy.maxRetries;
      if (outcome.detail === "CheckpointsUnusable") {
        d.condition({ type: "CheckpointsUnusable", status: "True", reason: "NoneLoads", message: outcome.message ?? `${at}: no checkpoint loads` });
      }
      if (outcome.permanent) {
        const because = PERMANENT_BECAUSE[outcome.detail] ?? "retrying cannot help";
        failRun(d, outcome.detail, `${why}; ${because}${outcome.message === undefined ? "; see the pod's log" : ""}`);
      } else if (failures > max) {
        failRun(d, "MaxRetriesExceeded", `${why}; ${failures} failures exceed spec.failurePolicy.maxRetries (${max})`);
      } else {
        const next = new Date(d.now.getTime() + retryDelaySeconds(failures, spec.failurePolicy) * 1000);
        d.status.nextAttemptAt = toTimestamp(next);
        d.event("Warning", "RetryingAfterFailure", `${why}; retry ${failures} of ${max} at ${toTimestamp(next)}`);
      }
      return;
    }
    case "Moved":
      d.event("Normal", "Moved", `${at} stopped for a planned move (${outcome.detail}) at step ${record.reachedStep ?? "?"}`);
      return;
    case "Blocked": {
      // Charged to no budget: retrying cannot fail sooner than the object appears. With no
      // RBAC on Secrets nothing says when it does, so the retries back off as failures do.
      const blocked = [...(d.status.attempts ?? [])].reverse().findIndex((r) => r.endReason !== "Blocked");
      const inARow = blocked < 0 ? (d.status.attempts?.length ?? 1) : blocked;
      const next = new Date(d.now.getTime() + retryDelaySeconds(inARow, spec.failurePolicy) * 1000);
      d.status.nextAttemptAt = toTimestamp(next);
      d.event("Warning", "WaitingForObject", `${at} could not start: ${outcome.message ?? outcome.detail}; its pod is deleted and the next attempt tries again at ${toTimestamp(next)}`);
      return;
    }
    case "Suspended":
      return;
  }
}

/** The capacity policy's view of an ended attempt: a preemption on spot, the end of a return. */
function noteCapacity(d: Draft, record: AttemptRecord, spec: TrainingRunSpec): void {
  const fallback = spec.scheduling.fallback;
  if (fallback === undefined || d.status.capacity === undefined) return;
  const next = afterAttemptEnd(fallback, d.status.capacity, record, d.now);
  d.status.capacity = next.capacity;
  if (next.event) d.event(next.event.type, next.event.reason, next.event.message);
}

function failRun(d: Draft, reason: string, message: string): void {
  d.status.phase = "Failed";
  d.status.completionTime = toTimestamp(d.now);
  delete d.status.nextAttemptAt;
  d.condition({ type: "Failed", status: "True", reason, message });
  d.event("Warning", "Failed", message);
}

/** The trainer's own account at exit is the most precise one there is. */
function noteSummary(d: Draft, record: AttemptRecord, summary: ParsedExitSummary): void {
  if (summary.step === undefined || summary.step === null) return;
  // A failed trainer's checkpoint field names an older save, already reported in progress.
  const saved = summary.reason === "failed" ? undefined : (summary.checkpoint ?? undefined);
  noteProgress(d, record, {
    step: summary.step,
    totalSteps: summary.totalSteps ?? undefined,
    epoch: summary.epoch ?? undefined,
    loss: summary.loss ?? undefined,
    // null is a fresh start: an attempt that never reported progress still lost its predecessor's steps.
    resumedFromStep: resumedFrom(summary),
    ...(saved?.step === undefined
      ? {}
      : {
          checkpoint: {
            step: saved.step,
            // The summary carries no time; the pass that reads it follows the exit closely.
            time: toTimestamp(d.now),
            ...(saved.bytes === undefined ? {} : { bytes: saved.bytes }),
            reason: summary.reason === "completed" ? "final" : "preemption",
            ...(saved.path === undefined ? {} : { path: saved.path }),
          },
        }),
  });
}

/**
 * Exponential backoff before the next attempt after the n-th failure (n ≥ 1), capped: the
 * runtime's one growth rule, in the spec's seconds. Unjittered, since it is recorded in
 * status and must read the same on every pass.
 */
export function retryDelaySeconds(failures: number, policy: TrainingRunSpec["failurePolicy"]): number {
  const { initialSeconds, maxSeconds } = policy.backoff;
  return exponentialDelay(initialSeconds, maxSeconds, Math.max(0, failures - 1));
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
