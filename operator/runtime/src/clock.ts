/**
 * Time as the runtime sees it. Injected so the workqueue and backoff can be driven by a
 * manual clock in tests instead of real waits.
 */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /**
   * Resolves after `ms`, or at once when `signal` aborts (never rejects): every loop that
   * waits stops with whatever stops its owner.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A sleep on `setTimer`, cut short by `signal`: the one sleep every clock shares. */
function sleepOn(setTimer: Clock["setTimer"], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clear();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const clear = setTimer(ms, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}

const realTimer: Clock["setTimer"] = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: realTimer,
  sleep: (ms, signal) => sleepOn(realTimer, ms, signal),
};

/** A clock that moves only when told to; timers fire in due order during `advance`. */
export class ManualClock implements Clock {
  private current: number;
  private timers: { due: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.timers
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.due;
      next.fn();
    }
    this.current = target;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn((after, fn) => this.setTimer(after, fn), ms, signal);
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}

/** `work`, or a rejection with `message` if it has not settled within `ms`. */
export function withTimeout<R>(clock: Clock, work: Promise<R>, ms: number, message: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const clear = clock.setTimer(ms, () => reject(new Error(message)));
    work.then(
      (value) => {
        clear();
        resolve(value);
      },
      (err: unknown) => {
        clear();
        reject(err);
      },
    );
  });
}
