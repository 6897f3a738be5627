// The kubelet's restart back-off per container (kuberuntime doBackOff with
// flowcontrol.Backoff): the first restart is immediate, later ones wait
// 10 s, 20 s, 40 s … up to 5 min, counted from the exit; a container that
// stayed up for 10 min starts over.

const INITIAL_MS = 10_000;
const MAX_MS = 300_000;
const EXPIRY_MS = 2 * MAX_MS;

export class CrashBackoff {
  private backoffMs = 0;
  private lastUpdate = 0;

  /**
   * Called when an exited container is to be restarted. Returns how long to
   * wait (0: restart now) and the back-off shown in the waiting message.
   */
  delayAfterExit(finishedAtMs: number, nowMs: number): { waitMs: number; backoffMs: number } {
    if (this.backoffMs === 0 || finishedAtMs - this.lastUpdate > EXPIRY_MS) {
      this.backoffMs = INITIAL_MS;
      this.lastUpdate = nowMs;
      return { waitMs: 0, backoffMs: 0 };
    }
    const shown = this.backoffMs;
    const waitMs = Math.max(0, finishedAtMs + this.backoffMs - nowMs);
    this.backoffMs = Math.min(MAX_MS, this.backoffMs * 2);
    this.lastUpdate = nowMs + waitMs;
    return { waitMs, backoffMs: shown };
  }
}

/** Go's time.Duration String() for whole seconds: 10s, 1m20s, 5m0s. */
export function goDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

export function crashLoopMessage(backoffMs: number, container: string, pod: { name: string; namespace: string; uid: string }) {
  return `back-off ${goDuration(backoffMs)} restarting failed container=${container} pod=${pod.name}_${pod.namespace}(${pod.uid})`;
}
