import { exponentialDelay } from "@resumable/kube-runtime";
import type { TrainingRunSpec } from "../api/spec.js";

/**
 * Exponential backoff before the next attempt after the n-th failure (n ≥ 1), capped: the
 * runtime's one growth rule, in the spec's seconds. Unjittered, since it is recorded in
 * status and must read the same on every pass.
 */
export function retryDelaySeconds(failures: number, policy: TrainingRunSpec["failurePolicy"]): number {
  const { initialSeconds, maxSeconds } = policy.backoff;
  return exponentialDelay(initialSeconds, maxSeconds, Math.max(0, failures - 1));
}
