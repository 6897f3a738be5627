// An attempt's end and the budget it is charged to: the outcome on its record, the
// preemption and failure counters, the retry backoff (nextAttemptAt), the run's end when a
// budget is spent or training completed (with status.result and the Complete, Failed and
// CheckpointsUnusable conditions).
import { exponentialDelay } from "@resumable/kube-runtime";
import { resumedFrom, type ParsedExitSummary } from "@resumable/protocol";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord } from "../api/status.js";
import { isQueueStop, queueOf, QUOTA_PREEMPTED } from "../model/kueue.js";
import { summaryForStatus } from "../model/observe.js";
import { toDate, toTimestamp } from "../model/time.js";
import { noteCapacity } from "./capacity.js";
import type { Draft } from "./draft.js";
import { endRun } from "./phase.js";
import type { Outcome } from "./pod-outcome.js";
import { clearCheckpointFailing, noteProgress } from "./progress.js";

/** Zeros rather than blanks in `kubectl get tr`. */
export function countBudgets(d: Draft): void {
  d.status.preemptions ??= 0;
  d.status.failures ??= 0;
}

/** A new attempt starts: no retry is pending any more. */
export function clearRetry(d: Draft): void {
  delete d.status.nextAttemptAt;
}

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
      endRun(d, "Succeeded");
      if (outcome.summary) d.status.result = summaryForStatus(outcome.summary);
      clearCheckpointFailing(d, "the final checkpoint committed");
      d.condition({ type: "Complete", status: "True", reason: "TrainingCompleted", message: `${at} completed` });
      d.event("Normal", "Succeeded", `${at} completed training at step ${record.reachedStep ?? "?"}`);
      return;
    case "Preempted": {
      const preemptions = (d.status.preemptions = (d.status.preemptions ?? 0) + 1);
      const rank = record.disruptedRank === undefined ? undefined : record.ranks?.[record.disruptedRank];
      const where = rank === undefined ? "" : `: rank ${rank.rank} (pod ${rank.pod}${rank.node ? ` on node ${rank.node}` : ""}) was disrupted`;
      if (isQueueStop(outcome.detail)) {
        // The queue's own policy took the quota back: the next attempt queues again, and no
        // budget is charged (a run low in priority must not fail for being low).
        d.status.quotaPreemptions = (d.status.quotaPreemptions ?? 0) + 1;
        d.event("Warning", QUOTA_PREEMPTED, `${at} was stopped by Kueue (${outcome.detail}) at step ${record.reachedStep ?? "?"}; the next attempt waits in queue ${queueOf(d.observed.run) ?? "?"}`);
        return;
      }
      d.event("Warning", "Preempted", `${at} was preempted (${outcome.detail}) at step ${record.reachedStep ?? "?"}${where}`);
      const max = spec.preemption.maxPreemptions;
      if (max !== undefined && preemptions - (d.status.quotaPreemptions ?? 0) > max) {
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
      const next = retryUncharged(d, endReason, spec);
      d.event("Warning", "WaitingForObject", `${at} could not start: ${outcome.message ?? outcome.detail}; its pod is deleted and the next attempt tries again at ${next}`);
      return;
    }
    case "GangUnschedulable": {
      // Neither a preemption nor a failure: the cluster had no room for the whole gang. The
      // pods are deleted so a partial gang holds nothing, and the next try backs off.
      const next = retryUncharged(d, endReason, spec);
      d.event("Warning", "GangUnschedulable", `${at} could not form its gang: ${outcome.message ?? outcome.detail}; its pods are deleted and the next attempt tries again at ${next}`);
      return;
    }
    case "Suspended":
      return;
  }
}

/**
 * The backoff of an end charged to no budget, by how many attempts in a row ended so: the
 * failures' growth rule. Returns the time it sets as nextAttemptAt.
 */
function retryUncharged(d: Draft, reason: AttemptRecord["endReason"], spec: TrainingRunSpec): string {
  const other = [...(d.status.attempts ?? [])].reverse().findIndex((r) => r.endReason !== reason);
  const inARow = other < 0 ? (d.status.attempts?.length ?? 1) : other;
  const next = toTimestamp(new Date(d.now.getTime() + retryDelaySeconds(inARow, spec.failurePolicy) * 1000));
  d.status.nextAttemptAt = next;
  return next;
}

function failRun(d: Draft, reason: string, message: string): void {
  endRun(d, "Failed");
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
