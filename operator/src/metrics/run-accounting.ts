import { lostSteps } from "@resumable/protocol";
import type { TrainingRunStatus } from "../api/status.js";
import { lostSecondsOf, seconds } from "../model/accounting.js";
import { toDate } from "../model/time.js";

export interface RunTime {
  /** From the run's start to its completion (or now). */
  wallSeconds: number;
  /** Time attempts spent training steps that were not lost. */
  usefulSeconds: number;
  /** Time attempts spent on steps the next attempt had to train again. */
  lostSeconds: number;
}

/**
 * How a run's time was spent, from its status alone (the attempts still in its bounded
 * history): the input of goodput and lost seconds.
 */
export function runTime(status: TrainingRunStatus | undefined, now: Date): RunTime {
  const attempts = status?.attempts ?? [];
  const end = toDate(status?.completionTime) ?? now;
  const lost = lostSteps(attempts).perAttempt;
  const byNumber = new Map(attempts.map((a) => [a.attempt, a]));
  let trained = 0;
  let lostSeconds = 0;
  attempts.forEach((record, i) => {
    trained += seconds(toDate(record.startTime), toDate(record.endTime) ?? end);
    lostSeconds += lostSecondsOf(byNumber.get(record.attempt - 1), lost[i]);
  });
  return {
    wallSeconds: seconds(toDate(status?.startTime), end),
    usefulSeconds: Math.max(0, trained - lostSeconds),
    lostSeconds,
  };
}
