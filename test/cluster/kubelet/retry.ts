// How the kubelet's loops retry: the operator's jittered backoff (reset after
// a success), and a sleep that an AbortSignal cuts short so every loop stops
// with the kubelet.

/** List/watch restarts, as the operator's reflector: 0.8 s doubling to 30 s. */
export const WATCH_RETRY = { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };
/** Status writes and the final pod deletion: quicker, a pod's status is waited on. */
export const WRITE_RETRY = { initialMs: 500, maxMs: 10_000, resetAfterMs: 60_000 };

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
