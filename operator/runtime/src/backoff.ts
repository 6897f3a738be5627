import { systemClock, type Clock } from "./clock.js";

/**
 * base · 2^n, capped at max: the one growth rule behind every retry in the tree (watch
 * restarts, workqueue retries, a run's failure delay, a container's crash back-off).
 */
export function exponentialDelay(baseMs: number, maxMs: number, n: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(n, 52));
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** After this long without a failure the next delay starts from `initialMs` again. */
  resetAfterMs: number;
}

export interface JitteredBackoffOptions extends BackoffPolicy {
  clock?: Clock;
  random?: () => number;
}

/** kube-rs' watcher backoff: 0.8 s → 30 s, reset after 120 s without trouble. */
export const watchBackoff: BackoffPolicy = { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };

/**
 * kube-rs' watcher backoff: exponential with jitter, reset once things stay healthy.
 * Jitter draws from [d/2, d] rather than [0, d] so a crowd of restarting watches spreads
 * out without any of them retrying at once in a hot loop.
 */
export class JitteredBackoff {
  private failures = 0;
  private lastFailureAt: number | undefined;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(private readonly options: JitteredBackoffOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Records a failure and returns how long to wait before the next try. */
  next(): number {
    const now = this.clock.now();
    if (this.lastFailureAt !== undefined && now - this.lastFailureAt >= this.options.resetAfterMs) {
      this.failures = 0;
    }
    this.lastFailureAt = now;
    const delay = exponentialDelay(this.options.initialMs, this.options.maxMs, this.failures++);
    return delay / 2 + (this.random() * delay) / 2;
  }

  /** A success: the next failure starts from `initialMs` again. */
  reset(): void {
    this.failures = 0;
    this.lastFailureAt = undefined;
  }
}
