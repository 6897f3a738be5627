import type { Logger } from "../log.js";
import type { TrainingSnapshot } from "./snapshot.js";
import type { CheckpointStore, CommittedCheckpoint } from "./store.js";

/**
 * Background saves, at most one in flight (as DCP async_save, CheckFreq and Orbax do): the
 * snapshot is already in host memory, so training goes on while it is written. A save asked
 * for while another runs is refused and the caller retries at a later step boundary.
 */
export class CheckpointWriter {
  private inFlight: Promise<void> | undefined;
  /** The first error of a background save that must stop training (e.g. fenced). */
  fatal: Error | undefined;

  constructor(
    private readonly store: CheckpointStore,
    private readonly attempt: number | undefined,
    private readonly log: Logger,
    private readonly onCommitted: (c: CommittedCheckpoint) => void,
    private readonly isFatal: (err: Error) => boolean,
  ) {}

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts a background save; false when one is already in flight. */
  startAsync(snapshot: TrainingSnapshot): boolean {
    if (this.inFlight) return false;
    this.log.debug({ step: snapshot.meta.step }, "checkpoint save started");
    this.inFlight = this.store
      .save(snapshot, this.attempt)
      .then(this.onCommitted, (err: Error) => {
        this.log.error({ err, step: snapshot.meta.step }, "background checkpoint save failed");
        if (this.isFatal(err)) this.fatal ??= err;
      })
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
    const committed = await this.store.save(snapshot, this.attempt);
    this.onCommitted(committed);
    return committed;
  }
}
