import { Worker } from "node:worker_threads";
import type { TrainerEnv } from "../../config/env.js";
import type { Logger } from "../../log.js";
import { StorageError } from "../errors.js";
import type { TrainingSnapshot } from "../snapshot.js";
import type { CommittedCheckpoint } from "../store.js";
import { fromWire, type WireError } from "./wire.js";

/** What the save thread opens its store from: the same inputs as the training thread's. */
export interface SaveThreadInit {
  env: TrainerEnv;
  keep: number;
  logBindings: Record<string, unknown>;
  logLevel: string;
}

export interface SaveRequest {
  id: number;
  snapshot: TrainingSnapshot;
  attempt: number | undefined;
}

/** A save's outcome, or (once, first) that the thread has opened its store. */
export type SaveReply = { id: number; committed: CommittedCheckpoint } | { id: number; error: WireError } | { ready: true };

/**
 * CheckpointStore.save on a thread of its own, for the trainer's saves. tfjs computes a step
 * synchronously on the training thread, which yields once per step: a save run there advances
 * by one awaited I/O completion (an open, a write, a slice hashed, an fsync, a rename) per step,
 * and a 12 MB save took 59 steps. Here it takes its disk time while steps go on, and the
 * training thread sees one reply. The same store code runs on the thread (worker.ts): the commit
 * protocol is not copied, only moved. One thread per process, started with the store and
 * restarted only if it dies. It keeps the process alive while it starts and while a save is
 * outstanding, as an fs call would; idle, it does not.
 *
 * A periodic snapshot's tensors are copies it owns (TrainingSession.snapshot): their buffers are
 * transferred, not copied again. A final snapshot's may be the backend's own storage, still in
 * use (the export reads the model): they would be copied once by the message, which is why the
 * trainer's final save runs on the training thread instead (CheckpointWriter).
 */
export class SaveThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (c: CommittedCheckpoint) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private started!: () => void;
  /** The thread that has said it is up (it may still be starting, or be a new one). */
  private up: Worker | undefined;
  /** The thread has started and opened its store, or died: a first save then pays no start-up. Never rejects. */
  readonly ready = new Promise<void>((resolve) => (this.started = resolve));

  constructor(
    private readonly init: SaveThreadInit,
    /** Where the checkpoints go: named in the error for a thread that died. */
    private readonly location: string,
    /** The thread's program; tests pass one that dies. */
    private readonly entry: URL = new URL(`./worker${extensionOf(import.meta.url)}`, import.meta.url),
  ) {
    this.worker = this.start();
  }

  static forRun(env: TrainerEnv, keep: number, log: Logger, location: string): SaveThread {
    // Its log lines say they come from the save thread: its store logs what the training thread's would (retention, ...).
    return new SaveThread({ env, keep, logBindings: { ...log.bindings(), thread: "save" }, logLevel: log.level }, location);
  }

  save(snapshot: TrainingSnapshot, attempt: number | undefined): Promise<CommittedCheckpoint> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    worker.ref();
    return new Promise<CommittedCheckpoint>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, snapshot, attempt } satisfies SaveRequest, ownedBuffers(snapshot));
      } catch (err) {
        this.pending.delete(id); // not sent (a snapshot that cannot be cloned): nothing will reply
        reject(err as Error);
      }
    }).finally(() => this.unrefIfIdle());
  }

  /** Ends the thread; a save still in flight fails as if the thread had died. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.lost(worker, "was closed");
    await worker.terminate();
  }

  private start(): Worker {
    const worker = startWorker(this.entry, this.init);
    worker.on("message", (reply: SaveReply) => {
      if ("ready" in reply) {
        this.up = worker;
        this.started();
        return this.unrefIfIdle();
      }
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ("error" in reply) waiting.reject(fromWire(reply.error));
      else waiting.resolve(reply.committed);
    });
    worker.on("error", (err) => this.lost(worker, `failed (${err.name}: ${err.message})`));
    worker.on("exit", (code) => this.lost(worker, `exited with code ${code}`));
    return worker;
  }

  /** Up, and no save outstanding: an idle thread does not keep the process alive. */
  private unrefIfIdle(): void {
    if (this.worker !== undefined && this.worker === this.up && this.pending.size === 0) this.worker.unref();
  }

  /**
   * The thread is gone: its saves in flight fail as storage errors (a new attempt retries), and
   * the next save starts a new thread. What a save cut short left is debris a start clears.
   */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.started();
    const err = new StorageError(this.location, undefined, `checkpoint storage: the save thread ${why} before the save of ${this.location} ended`);
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

/** ".ts" when running from source (tests), ".js" from the built trainer. */
function extensionOf(url: string): string {
  return url.endsWith(".ts") ? ".ts" : ".js";
}

/**
 * A thread on `entry`. From source, the thread registers the TypeScript loader first: a worker
 * does not inherit the loader hooks of the thread that started it.
 */
function startWorker(entry: URL, init: SaveThreadInit): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: init });
  const loader = import.meta.resolve("tsx/esm/api");
  const program = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(program, { eval: true, workerData: init });
}

/** The buffers a periodic snapshot owns outright (see SaveThread); none of a final one. */
function ownedBuffers(snapshot: TrainingSnapshot): ArrayBuffer[] {
  if (snapshot.meta.kind !== "periodic") return [];
  const buffers = new Set<ArrayBuffer>();
  for (const { data } of [...snapshot.weights, ...snapshot.optimizerTensors]) {
    if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) buffers.add(data.buffer);
  }
  return [...buffers];
}
