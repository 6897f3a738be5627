import { systemClock, type Clock } from "./clock.js";
import { defaultRateLimit, RetryRateLimiter, type RateLimitOptions } from "./ratelimit.js";

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimit?: RateLimitOptions;
  /** Called once per rate-limited retry (metrics). */
  onRetry?: (key: string) => void;
}

/**
 * How soon a key wants a worker. `routine` is for changes that only refresh what a pass
 * would write anyway (a trainer's progress report): with a thousand runs reporting, those
 * keep the queue full, and a preemption's pass must not wait behind a full round of them.
 * controller-runtime's priority queue makes the same split (low priority for what an
 * informer's relist hands out again).
 */
export type Priority = "urgent" | "routine";

/**
 * A queue of object keys with client-go's guarantees:
 * - a key waiting in the queue is held once, however often it is added;
 * - a key is handed to at most one worker at a time; added again while a worker holds it,
 *   it is queued once more when that worker calls `done`, so the latest state is seen;
 * - failed keys come back after a per-key exponential backoff (`addRateLimited`), and
 *   `forget` resets that backoff after a success;
 * - every urgent key is handed out before any routine one, each lane in the order added; a
 *   routine key added again as urgent moves to the urgent lane (never the other way).
 */
export class WorkQueue {
  /** Insertion-ordered sets: O(1) to move a key from the routine lane to the urgent one. */
  private readonly lanes: Record<Priority, Set<string>> = { urgent: new Set(), routine: new Set() };
  /** Keys that need processing (queued, or re-added while being processed), and how soon. */
  private readonly dirty = new Map<string, Priority>();
  private readonly processing = new Set<string>();
  /** One timer per key: the earliest pending `addAfter` wins. */
  private readonly delayed = new Map<string, { due: number; cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly limiter: RetryRateLimiter;
  private stopping = false;

  constructor(private readonly options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new RetryRateLimiter(options.rateLimit ?? defaultRateLimit, this.clock);
  }

  add(key: string, priority: Priority = "urgent"): void {
    if (this.stopping) return;
    const queued = this.dirty.get(key);
    if (queued !== undefined) {
      if (queued === "routine" && priority === "urgent") {
        this.dirty.set(key, "urgent");
        if (this.lanes.routine.delete(key)) this.lanes.urgent.add(key);
      }
      return;
    }
    this.dirty.set(key, priority);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) this.hand(key, waiter);
    else this.lanes[priority].add(key);
  }

  /** Adds `key` (urgent) after `ms`, unless an earlier add for it is already scheduled. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const due = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    pending?.cancel();
    const cancel = this.clock.setTimer(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { due, cancel });
  }

  /** Re-adds a key whose processing failed, after its backoff. */
  addRateLimited(key: string): void {
    if (this.stopping) return;
    this.options.onRetry?.(key);
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears a key's failure history: the next failure starts at the base delay. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /** Keys waiting for a worker (not counting delayed or in-flight ones). */
  depth(): number {
    return this.lanes.urgent.size + this.lanes.routine.size;
  }

  /** The next key to process, or undefined once the queue is shutting down. */
  get(): Promise<string | undefined> {
    if (this.stopping) return Promise.resolve(undefined);
    const key = this.next();
    if (key !== undefined) {
      return new Promise((resolve) => this.hand(key, resolve));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Must follow every `get` that returned a key, whatever the outcome. */
  done(key: string): void {
    this.processing.delete(key);
    const priority = this.dirty.get(key);
    if (priority !== undefined && !this.stopping) {
      const waiter = this.waiters.shift();
      if (waiter) this.hand(key, waiter);
      else this.lanes[priority].add(key);
    }
    if (this.processing.size === 0) {
      for (const idle of this.idleWaiters.splice(0)) idle();
    }
  }

  /**
   * Stops handing out keys and resolves once every key in flight is `done`. Queued and
   * delayed keys are dropped: the next process (or leader) lists everything anew.
   */
  async shutDown(): Promise<void> {
    this.stopping = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    this.lanes.urgent.clear();
    this.lanes.routine.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    if (this.processing.size > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /** Takes the first key of the first non-empty lane. */
  private next(): string | undefined {
    for (const lane of [this.lanes.urgent, this.lanes.routine]) {
      for (const key of lane) {
        lane.delete(key);
        return key;
      }
    }
    return undefined;
  }

  private hand(key: string, to: (key: string) => void): void {
    this.dirty.delete(key);
    this.processing.add(key);
    to(key);
  }
}
