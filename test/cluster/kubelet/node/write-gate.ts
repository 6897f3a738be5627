// Whether a node's kubelet can reach the apiserver. A partitioned node keeps
// running its containers but every write waits here until the partition
// heals; a lost node's writes wait forever.
import type { BackoffPolicy } from "@resumable/kube-runtime";

/** Status writes and the final pod deletion retry quicker than watches: a pod's status is waited on. */
export const WRITE_RETRY: BackoffPolicy = { initialMs: 500, maxMs: 10_000, resetAfterMs: 60_000 };

export class WriteGate {
  private open = true;
  private waiters: (() => void)[] = [];

  close(): void {
    this.open = false;
  }

  reopen(): void {
    this.open = true;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Resolves when writes may go through. */
  writable(): Promise<void> {
    return this.open ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
