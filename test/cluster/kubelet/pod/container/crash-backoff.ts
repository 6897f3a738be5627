// The kubelet's restart back-off per container (kuberuntime doBackOff with
// flowcontrol.Backoff): the first restart is immediate, later ones wait
// 10 s, 20 s, 40 s … up to 5 min, counted from the exit; a container that
// stayed up for 10 min starts over.

import { exponentialDelay } from "@resumable/kube-runtime";

const INITIAL_MS = 10_000;
const MAX_MS = 300_000;
const EXPIRY_MS = 2 * MAX_MS;

export class CrashBackoff {
  /** Restarts since the back-off last started over; 0 before the first. */
  private restarts = 0;
  private lastUpdate = 0;

  /**
   * Called when an exited container is to be restarted. Returns how long to
   * wait (0: restart now) and the back-off shown in the waiting message.
   */
  delayAfterExit(finishedAtMs: number, nowMs: number): { waitMs: number; backoffMs: number } {
    if (this.restarts === 0 || finishedAtMs - this.lastUpdate > EXPIRY_MS) {
      this.restarts = 1;
      this.lastUpdate = nowMs;
      return { waitMs: 0, backoffMs: 0 };
    }
    // Not jittered: the kubelet's back-off is exact, and its message shows it.
    const backoffMs = exponentialDelay(INITIAL_MS, MAX_MS, this.restarts - 1);
    this.restarts++;
    const waitMs = Math.max(0, finishedAtMs + backoffMs - nowMs);
    this.lastUpdate = nowMs + waitMs;
    return { waitMs, backoffMs };
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
