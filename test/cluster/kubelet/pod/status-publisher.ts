// The kubelet's status manager for one pod: coalesces status changes into
// one write at a time, skips writes that change nothing, retries failures
// with backoff, and waits while the node cannot reach the apiserver.
import { JitteredBackoff, systemClock } from "@resumable/kube-runtime";
import { ApiError, type ApiClient } from "../api/client.js";
import type { PodStatus } from "../api/types.js";
import type { Logger } from "../log.js";
import { statusPatch } from "./status.js";
import { WRITE_RETRY, type WriteGate } from "../node/write-gate.js";

export class StatusPublisher {
  /** The status last written: the status manager's cache, input to the next build. */
  last?: PodStatus;
  private dirty = false;
  private loop?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly uid: string,
    private readonly gate: WriteGate,
    private readonly build: () => PodStatus,
    private readonly log: Logger,
  ) {}

  /** Schedules a write of the current status. */
  request(): void {
    if (this.stopped) return;
    this.dirty = true;
    this.loop ??= this.drain().finally(() => (this.loop = undefined));
  }

  /** Resolves once everything requested so far has been written (or the pod is gone). */
  async flush(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** No more writes: the pod is gone, or the node is. */
  stop(): void {
    this.stopped = true;
  }

  private async drain(): Promise<void> {
    const backoff = new JitteredBackoff(WRITE_RETRY);
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      await this.gate.writable();
      if (this.stopped) return;
      const status = this.build();
      if (JSON.stringify(status) === JSON.stringify(this.last)) continue;
      try {
        await this.api.patch(`${this.path}/status`, statusPatch(this.uid, status), "strategic");
        this.last = status;
        backoff.reset();
      } catch (err) {
        if (err instanceof ApiError && (err.code === 404 || err.code === 409)) {
          // Gone, or a new pod under the same name (the uid precondition failed).
          this.log.info({ err: err.message }, "pod gone, status not written");
          this.stopped = true;
          return;
        }
        this.log.warn({ err: String(err) }, "status write failed, retrying");
        this.dirty = true;
        await systemClock.sleep(backoff.next());
      }
    }
  }
}
