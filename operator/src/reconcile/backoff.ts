import type { TrainingRunSpec } from "../api/spec.js";

/** Exponential backoff before the next attempt after the n-th failure (n ≥ 1), capped. */
export function retryDelaySeconds(failures: number, policy: TrainingRunSpec["failurePolicy"]): number {
  const { initialSeconds, maxSeconds } = policy.backoff;
  return Math.min(maxSeconds, initialSeconds * 2 ** Math.max(0, failures - 1));
}
