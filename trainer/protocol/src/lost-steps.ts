/** What the lost-steps rule needs of an attempt (the operator's status.attempts[] records). */
export interface AttemptSteps {
  attempt: number;
  /** Where the attempt resumed from (0 for a fresh start); undefined until it says. */
  resumedFromStep?: number | undefined;
  /** The highest step it is known to have reached. */
  reachedStep?: number | undefined;
}

export interface LostSteps {
  /** Per attempt, in the order given: steps it trained again, undefined while unknown. */
  perAttempt: (number | undefined)[];
  /** The sum of the known ones. */
  total: number;
}

/**
 * The steps `next` had to train again: the highest step its predecessor is known to have
 * reached (else where that one resumed from) minus where `next` resumed. Undefined until
 * `next` says where it resumed, or when the predecessor is unknown (attempt 1, or a record
 * no longer in the history). A resume past the predecessor's known step lost nothing.
 */
export function lostStepsOf(previous: AttemptSteps | undefined, next: AttemptSteps): number | undefined {
  if (next.resumedFromStep === undefined || previous === undefined) return undefined;
  const reached = previous.reachedStep ?? previous.resumedFromStep;
  return reached === undefined ? 0 : Math.max(0, reached - next.resumedFromStep);
}

/** The lost steps of every attempt in a history, each against the attempt numbered before it. */
export function lostSteps(history: readonly AttemptSteps[]): LostSteps {
  const byNumber = new Map(history.map((a) => [a.attempt, a]));
  const perAttempt = history.map((a) => lostStepsOf(byNumber.get(a.attempt - 1), a));
  return { perAttempt, total: perAttempt.reduce<number>((sum, n) => sum + (n ?? 0), 0) };
}
