// Coalescing progress writes. A trainer reports every few seconds; written one status write
// per report, the apiserver's write load grows with runs times report rate, for a number
// nobody reads more often than `kubectl get` or a scrape does. So a pass whose only change is
// progress leaves it as observed while the progress in status is younger than
// settings.progressWriteIntervalSeconds, and asks to look again when it comes of age: that
// pass writes the newest report (the annotation still holds it) without waiting for another.
//
// The rule, stated once: hold a change only if (1) nothing but progress changed, (2) the run
// is Running, and (3) status.progress.recordedAt says the progress was written less than the
// interval ago. Everything else writes at once and carries the newest progress with it: a
// phase change, a condition, an attempt's start or end, a checkpoint, a resume's lost steps.
// (2) because a trainer that is stopping may take its pod, and with it the newest report,
// away before the interval ends. The time comes from status, not from memory, so an operator
// restart keeps the interval and reconcile stays pure. What is still exposed: a Running pod
// deleted at once (grace 0) on a healthy node takes at most one interval of reports with it.
import { isDeepStrictEqual } from "node:util";
import type { TrainingRunStatus } from "../api/status.js";
import { toDate, toTimestamp } from "../model/time.js";
import type { Draft } from "./draft.js";

/**
 * Decides the progress fields of the pass's status: held as observed (and a requeue for when
 * the interval ends), or written now and stamped recordedAt. Call last, on the finished status.
 */
export function coalesceProgress(d: Draft): void {
  const before = d.observed.run.status ?? {};
  const after = d.status;
  if (isDeepStrictEqual(progressOf(before), progressOf(after))) {
    // The same progress, rebuilt from the same report: it keeps the time it was written.
    const recordedAt = before.progress?.recordedAt;
    if (after.progress !== undefined && recordedAt !== undefined) after.progress.recordedAt = recordedAt;
    return;
  }
  const holdMs = holdFor(d, before, after);
  if (holdMs !== undefined) {
    restoreProgress(after, before);
    d.requeueIn(holdMs);
    return;
  }
  if (after.progress !== undefined) after.progress.recordedAt = toTimestamp(d.now);
}

/** How much longer a progress-only change may wait; undefined: write it now. */
function holdFor(d: Draft, before: TrainingRunStatus, after: TrainingRunStatus): number | undefined {
  const intervalMs = d.settings.progressWriteIntervalSeconds * 1000;
  const recordedAt = toDate(before.progress?.recordedAt);
  if (intervalMs <= 0 || recordedAt === undefined || before.phase !== "Running") return undefined;
  const ageMs = d.now.getTime() - recordedAt.getTime();
  // A stamp from the future (another replica's clock) holds nothing: no write waits forever.
  if (ageMs < 0 || ageMs >= intervalMs) return undefined;
  if (!isDeepStrictEqual(withoutProgress(before), withoutProgress(after))) return undefined;
  return intervalMs - ageMs;
}

/**
 * What a progress report alone changes: status.progress (but its stamp), each attempt's reached
 * step, and what a preemption would cost (preemption-cost.ts, computed from them).
 */
function progressOf(status: TrainingRunStatus): unknown {
  const progress = status.progress === undefined ? undefined : { ...status.progress, recordedAt: undefined };
  return plain({ progress, reached: (status.attempts ?? []).map((a) => [a.attempt, a.reachedStep]), cost: status.preemptionCost });
}

/** Everything else in status. */
function withoutProgress(status: TrainingRunStatus): unknown {
  return plain({ ...status, progress: undefined, preemptionCost: undefined, attempts: status.attempts?.map((a) => ({ ...a, reachedStep: undefined })) });
}

/** As it would be written: keys holding undefined are absent, as in the merge patch. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null)) as unknown;
}

/** Puts the observed progress back: with nothing else changed, the status is then as observed. */
function restoreProgress(after: TrainingRunStatus, before: TrainingRunStatus): void {
  if (before.progress === undefined) delete after.progress;
  else after.progress = structuredClone(before.progress);
  if (before.preemptionCost === undefined) delete after.preemptionCost;
  else after.preemptionCost = structuredClone(before.preemptionCost);
  for (const record of after.attempts ?? []) {
    const reached = before.attempts?.find((r) => r.attempt === record.attempt)?.reachedStep;
    if (reached === undefined) delete record.reachedStep;
    else record.reachedStep = reached;
  }
}
