import { resumedFrom, type ParsedExitSummary } from "@resumable/protocol";
import type { AttemptRecord } from "../api/status.js";
import type { TrainingRunSpec } from "../api/spec.js";
import { clearCheckpointFailing, noteProgress } from "./attempts.js";
import { retryDelaySeconds } from "./backoff.js";
import type { Draft } from "./draft.js";
import type { Outcome } from "./pod-assessment.js";
import { toTimestamp } from "./time.js";
import { summaryForStatus } from "./trainer-reports.js";

/** Why retrying a permanent failure cannot help, by its detail. */
const PERMANENT_BECAUSE: Record<string, string> = {
  InvalidConfig: "the trainer rejected spec.training, retrying cannot help",
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
  record.endReason = endReason;
  record.endDetail = outcome.detail;
  if (outcome.exitCode !== undefined) record.exitCode = outcome.exitCode;
  delete record.nodeLostAt;
  if (outcome.summary) noteSummary(d, record, outcome.summary);

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
    case "Suspended":
      return;
  }
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
          },
        }),
  });
}
