import type { AttemptRecord, TrainingRunStatus } from "../api/status.js";
import { toDate } from "../reconcile/time.js";

export interface RunTime {
  /** From the run's start to its completion (or now). */
  wallSeconds: number;
  /** Time attempts spent training steps that were not lost. */
  usefulSeconds: number;
  /** Time attempts spent on steps the next attempt had to train again. */
  lostSeconds: number;
}

function seconds(from: Date | undefined, to: Date | undefined): number {
  return from && to ? Math.max(0, (to.getTime() - from.getTime()) / 1000) : 0;
}

/**
 * Wall time lost by one ended attempt: its lost steps at the attempt's own pace. The lost
 * steps are known once the next attempt says where it resumed from.
 */
function lostSecondsOf(record: AttemptRecord, next: AttemptRecord | undefined): number {
  const reached = record.reachedStep;
  const resumed = next?.resumedFromStep;
  if (reached === undefined || resumed === undefined || reached <= resumed) return 0;
  const stepsTrained = reached - (record.resumedFromStep ?? 0);
  const duration = seconds(toDate(record.startTime), toDate(record.endTime));
  return stepsTrained > 0 ? ((reached - resumed) * duration) / stepsTrained : 0;
}

/**
 * How a run's time was spent, from its status alone (the attempts still in its bounded
 * history): the input of goodput and lost seconds.
 */
export function runTime(status: TrainingRunStatus | undefined, now: Date): RunTime {
  const attempts = status?.attempts ?? [];
  const end = toDate(status?.completionTime) ?? now;
  let trained = 0;
  let lostSeconds = 0;
  attempts.forEach((record, i) => {
    trained += seconds(toDate(record.startTime), toDate(record.endTime) ?? end);
    lostSeconds += lostSecondsOf(record, attempts[i + 1]);
  });
  return {
    wallSeconds: seconds(toDate(status?.startTime), end),
    usefulSeconds: Math.max(0, trained - lostSeconds),
    lostSeconds,
  };
}
