import type { CoreV1Event } from "@kubernetes/client-node";

export interface EventRecorderOptions {
  /** Posts one event (ClusterWriter.createEvent). */
  write: (namespace: string, event: CoreV1Event) => Promise<void>;
  /** An event the apiserver refused or never got; `dropped` when the buffer was full. */
  onFailure: (event: CoreV1Event, failure: unknown | "dropped") => void;
  /** Events waiting to be sent at most (client-go's broadcaster: 1000). */
  capacity?: number;
  /** Events sent at once. */
  concurrency?: number;
}

/**
 * Sends a run's events off the reconcile pass, as client-go's EventRecorder does: the pass
 * hands them over once its status write has succeeded and goes on. client-go posts them one
 * at a time; here a few senders post them, started in the order handed over (two events of
 * one run may land out of order; each carries the time it was recorded, which is what
 * `kubectl get events` sorts by). A pass used to wait for each event's round trip after its
 * pod create and status write: in a reclaim wave of 200 runs that was two of a pass's four
 * API calls, holding a worker while the next preempted run waited. Events are for people
 * (the status is the record), so when the apiserver falls far behind, the buffer is bounded
 * and the newest events are dropped and counted, as client-go does, rather than the
 * operator's memory growing.
 */
export class EventRecorder {
  private readonly waiting: { namespace: string; event: CoreV1Event }[] = [];
  private sending = 0;
  private readonly idle: (() => void)[] = [];
  private readonly capacity: number;
  private readonly concurrency: number;

  constructor(private readonly options: EventRecorderOptions) {
    this.capacity = options.capacity ?? 1000;
    this.concurrency = options.concurrency ?? 4;
  }

  /** Queues `event` for sending; never waits. */
  record(namespace: string, event: CoreV1Event): void {
    if (this.waiting.length >= this.capacity) {
      this.fail(event, "dropped");
      return;
    }
    this.waiting.push({ namespace, event });
    this.pump();
  }

  /** Resolves once every event recorded so far has been sent or has failed. */
  flush(): Promise<void> {
    if (this.waiting.length === 0 && this.sending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Reports a failure; a reporter that throws must not become an unhandled rejection. */
  private fail(event: CoreV1Event, failure: unknown): void {
    try {
      this.options.onFailure(event, failure);
    } catch {
      // Nothing left to tell it to.
    }
  }

  private pump(): void {
    while (this.sending < this.concurrency && this.waiting.length > 0) {
      const { namespace, event } = this.waiting.shift()!;
      this.sending++;
      void this.options.write(namespace, event)
        .catch((err: unknown) => this.fail(event, err))
        .finally(() => {
          this.sending--;
          this.pump();
          if (this.waiting.length === 0 && this.sending === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }
}
