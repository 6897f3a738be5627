import { exponentialDelay } from "./backoff.js";
import type { Clock } from "./clock.js";

export interface RateLimitOptions {
  /** Per-key delay after the first failure; doubles on each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall retry rate across keys (controller-runtime: 10/s, burst 100); off when unset. */
  globalPerSecond?: number;
  globalBurst?: number;
}

/** controller-runtime's defaults: 5 ms → 1000 s per key, 10 retries/s overall with bursts of 100. */
export const defaultRateLimit: RateLimitOptions = { baseDelayMs: 5, maxDelayMs: 1_000_000, globalPerSecond: 10, globalBurst: 100 };

/**
 * How long a failing key waits before its retry: the larger of its own exponential backoff
 * and the wait for a token from the shared bucket (so a mass failure can't stampede the
 * apiserver).
 */
export class RetryRateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    this.tokens = options.globalBurst ?? 0;
    this.refilledAt = clock.now();
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = exponentialDelay(this.options.baseDelayMs, this.options.maxDelayMs, n);
    return Math.max(perKey, this.reserveGlobal());
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Takes one token, going into debt if needed; the debt is the wait. */
  private reserveGlobal(): number {
    const rate = this.options.globalPerSecond;
    if (!rate) return 0;
    const burst = this.options.globalBurst ?? 1;
    const now = this.clock.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / rate;
  }
}
