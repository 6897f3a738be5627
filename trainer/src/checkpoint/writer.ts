import type { Logger } from "../log.js";
import type { TrainingSnapshot } from "./snapshot.js";
import type { CheckpointStore, CommittedCheckpoint } from "./store.js";

/** While periodic saves fail: since when, how many in a row, the last error. Reported in progress. */
export interface CheckpointFailure {
  since: string;
  failures: number;
  message: string;
}

/**
 * What runs a writer's saves: a CheckpointStore itself, or (background saves) the trainer's save
 * thread (save-thread/thread.ts), which runs that store's save off the training thread.
 */
export type Saver = Pick<CheckpointStore, "save"> & { close?: () => Promise<void> };

export interface WriterHooks {
  onCommitted: (c: CommittedCheckpoint) => void;
  /** Every failed save, fatal or not (the failure metric). */
  onFailed: (err: Error) => void;
  /** A background failure that must stop training (fenced); others are reported and training goes on. */
  isFatal: (err: Error) => boolean;
}

/**
 * Background saves, at most one in flight (as DCP async_save, CheckFreq and Orbax do): the
 * snapshot is already in host memory, so training goes on while it is written. A save asked
 * for while another runs is refused and the caller retries at a later step boundary.
 *
 * A periodic save that fails (ENOSPC, EIO, ...) leaves the earlier checkpoints intact and its
 * temp dir removed (commitDirectory); training goes on and `failing` says so until a save
 * succeeds. The final save is awaited and its failure thrown.
 *
 * Background saves may run elsewhere (`background`: the trainer's save thread, so that a save
 * does not wait for a step boundary between its I/O operations); the final one runs on the
 * store here: training has stopped, nothing competes with it, and the model's tensors, which
 * a final snapshot does not copy, are not copied to another thread either.
 */
export class CheckpointWriter {
  private inFlight: Promise<void> | undefined;
  /** The first error of a background save that must stop training (e.g. fenced). */
  fatal: Error | undefined;
  /** Non-null while saves fail; null again after one succeeds. */
  failing: CheckpointFailure | null = null;

  constructor(
    private readonly store: Saver,
    private readonly attempt: number | undefined,
    private readonly log: Logger,
    private readonly hooks: WriterHooks,
    private readonly background: Saver = store,
  ) {}

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts a background save; false when one is already in flight. */
  startAsync(snapshot: TrainingSnapshot): boolean {
    if (this.inFlight) return false;
    this.log.debug({ step: snapshot.meta.step }, "checkpoint save started");
    this.inFlight = this.background
      .save(snapshot, this.attempt)
      .then(
        (c) => this.committed(c),
        (err: Error) => {
          this.failed(err);
          this.log.error({ err, step: snapshot.meta.step, failuresInARow: this.failing?.failures }, "background checkpoint save failed; training goes on");
          if (this.hooks.isFatal(err)) this.fatal ??= err;
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return true;
  }

  /** Waits for the save in flight, if any. Never throws: failures were logged. */
  async drain(): Promise<void> {
    await this.inFlight;
  }

  /** A save in the foreground (the final one): waits for the one in flight, then throws on failure. */
  async saveNow(snapshot: TrainingSnapshot): Promise<CommittedCheckpoint> {
    await this.drain();
    this.log.debug({ step: snapshot.meta.step }, "checkpoint save started");
    const committed = await this.store.save(snapshot, this.attempt).catch((err: Error) => {
      this.failed(err);
      throw err;
    });
    this.committed(committed);
    return committed;
  }

  /** Waits for the save in flight, then ends the background saves' thread if they have one. */
  async close(): Promise<void> {
    await this.drain();
    await this.background.close?.();
  }

  private committed(c: CommittedCheckpoint): void {
    if (this.failing) this.log.info({ step: c.step, failedBefore: this.failing.failures }, "checkpoint saves work again");
    this.failing = null;
    this.hooks.onCommitted(c);
  }

  private failed(err: Error): void {
    this.failing = { since: this.failing?.since ?? new Date().toISOString(), failures: (this.failing?.failures ?? 0) + 1, message: `${err.name}: ${err.message}` };
    this.hooks.onFailed(err);
  }
}
