import { selectBackend } from "../backend/select.js";
import { FencedError } from "../checkpoint/errors.js";
import { openCheckpointStore } from "../checkpoint/open.js";
import { LocationOwnedError } from "../checkpoint/owner.js";
import { weightsSha256 } from "../checkpoint/snapshot.js";
import type { CheckpointStore, CommittedCheckpoint } from "../checkpoint/store.js";
import type { TrainerEnv } from "../config/env.js";
import type { LoadedCheckpoint } from "../checkpoint/verify.js";
import { SaveThread } from "../checkpoint/save-thread/thread.js";
import { CheckpointWriter } from "../checkpoint/writer.js";
import { ConfigError } from "../config-error.js";
import { loadDataset } from "../data/dataset.js";
import { stepsPerEpoch } from "../data/order.js";
import { exportModel } from "../model/export.js";
import { captureWeights } from "../model/state.js";
import { gangBatchProblem } from "./data-parallel.js";
import { decodeStart, encodeStart } from "./gang.js";
import { endGang, trainGang } from "./gang-run.js";
import { saveSchedule, trainLoop } from "./loop.js";
import { publish, stepReporter } from "./publish.js";
import { restoredSession, restoreNewest } from "./resume.js";
import { SaveCostMeter } from "./save-interval.js";
import type { Run, RunOptions, RunOutcome, RunState, Storage } from "./run-types.js";
import { TrainingSession } from "./session.js";

export type { RunOptions, RunOutcome, RunState } from "./run-types.js";

/**
 * One trainer process: resume or start, train until done or told to stop, a final checkpoint,
 * then (at completion) the exported model. Never throws: a failure is an outcome.
 */
export async function runTraining(opts: RunOptions): Promise<RunOutcome> {
  const state = initialRunState(opts.env);
  let run: Run | undefined;
  try {
    run = await resume(opts, state);
    if (run.gang) {
      await trainGang(run);
      await endGang(run);
    } else {
      await train(run);
      await save(run);
    }
    return { reason: await finish(run), state };
  } catch (err) {
    await run?.storage?.writer.drain(); // a save in flight is of an earlier, valid step: let it land
    // A failed rank tells its peers at once (they end peerLost) rather than after the stall bound.
    if (opts.collective && opts.collective.worldSize > 1) await opts.collective.close();
    return { reason: "failed", error: err as Error, state };
  } finally {
    opts.requests?.stop();
    await run?.storage?.writer.close();
  }
}

function initialRunState(env: TrainerEnv): RunState {
  return {
    ...(env.gang.worldSize > 1 && env.gang),
    step: null,
    totalSteps: null,
    epoch: null,
    loss: null,
    checkpoint: null,
    resumedFromStep: null,
    attempt: env.attempt ?? null,
    backend: null,
    weightsSha256: null,
    accuracy: null,
  };
}

/**
 * Backend, data, the claimed checkpoint directory, and the model restored from the newest
 * checkpoint that loads and restores (or --resume-from), else fresh.
 */
async function resume(opts: RunOptions, state: RunState): Promise<Run> {
  const { config, env, log, progress } = opts;
  const gang = opts.collective && opts.collective.worldSize > 1 ? opts.collective : undefined;
  const problem = gang && gangBatchProblem(config.batchSize, gang.worldSize);
  if (problem) throw new ConfigError(problem);
  const backend = await selectBackend(config, log);
  state.backend = backend;
  const data = await loadDataset(config);
  const totalSteps = config.totalSteps ?? config.epochs! * stepsPerEpoch(data.count, config.batchSize);
  state.totalSteps = totalSteps;

  let opened: (Omit<Storage, "writer"> & { saves: SaveThread }) | undefined;
  let loaded: LoadedCheckpoint | undefined;
  let training: TrainingSession | undefined;
  if (!gang || gang.rank === 0) {
    if (env.attempt === undefined) log.warn("RESUMABLE_ATTEMPT unset: fencing off, nothing stops a concurrent trainer on this directory");
    const { store, fence } = await openCheckpointStore(env, config.checkpoint.keep, log);
    // Background saves run off the training thread (thread.ts says why); it starts while the store is prepared and read.
    const saves = SaveThread.forRun(env, config.checkpoint.keep, log, store.dir);
    try {
      await store.prepare();
      ({ loaded, training } = (await restoreNewest(store, { config, data, backend, resumeFrom: opts.resumeFrom, allowFreshStart: env.allowFreshStart, log })) ?? {});
      // The first periodic save must not pay the thread's start-up (a short run could end first).
      await saves.ready;
    } catch (err) {
      await saves.close();
      throw err;
    }
    opened = { store, fence, saves };
  } else if (env.checkpointLocation) {
    log.info({ rank: gang.rank }, "a checkpoint location was given to a rank > 0: ignored, only rank 0 touches checkpoint storage");
  }
  if (gang) {
    // As DDP broadcasts rank 0's parameters: every rank starts from exactly rank 0's state.
    const start = await gang.broadcast(gang.rank === 0 ? encodeStart(loaded) : undefined, 0);
    if (gang.rank > 0) {
      loaded = decodeStart(start);
      if (loaded) training = await restoredSession(config, data, backend, loaded);
    }
  }
  let lastCommitted: CommittedCheckpoint | undefined;
  if (loaded) {
    lastCommitted = { step: loaded.manifest.step, path: loaded.path, bytes: loaded.bytes, saveSeconds: 0, kind: loaded.manifest.kind, time: new Date(loaded.manifest.createdAt) };
    state.resumedFromStep = loaded.manifest.step;
    log.info({ checkpoint: loaded.path, step: loaded.manifest.step, epoch: loaded.manifest.epoch }, "resuming from checkpoint");
    const writtenBy = loaded.manifest.worldSize ?? 1;
    const worldSize = gang?.worldSize ?? 1;
    if (writtenBy !== worldSize) log.info({ writtenBy, worldSize }, `checkpoint written by ${writtenBy} rank(s), resumed by ${worldSize}: the state is replicated, so it loads whole`);
  } else {
    log.info({ totalSteps }, "no valid checkpoint: starting fresh");
  }
  await opened?.fence?.recordResume(state.resumedFromStep ?? null);

  const run: Run = {
    opts,
    state,
    totalSteps,
    storage: opened && { store: opened.store, fence: opened.fence, writer: checkpointWriter(opts, () => run, opened.store, opened.saves) },
    gang,
    training: training ?? new TrainingSession(config, data, backend),
    lastCommitted,
    requestedSave: undefined,
    earlyCheckpoint: undefined,
    costs: new SaveCostMeter(),
    interval: undefined,
  };
  publish(run);
  progress.start();
  opts.requests?.start();
  return run;
}

/** Rank 0's (a single pod's) background and final saves, reported into the run. */
function checkpointWriter(opts: RunOptions, runOf: () => Run, store: CheckpointStore, background: SaveThread): CheckpointWriter {
  const { env, log } = opts;
  return new CheckpointWriter(store, env.attempt, log, {
    onCommitted: (c) => {
      const run = runOf();
      run.lastCommitted = c;
      run.costs.observeWrite(c.saveSeconds);
      run.opts.metrics.recordCheckpoint(c);
      log.info({ checkpoint: c.path, step: c.step, bytes: c.bytes, saveSeconds: c.saveSeconds, kind: c.kind }, "checkpoint committed");
      recordEarlyCheckpoint(run, c);
      publish(run);
      run.opts.progress.sendSoon();
    },
    onFailed: () => {
      const run = runOf();
      run.opts.metrics.checkpointFailures.inc();
      // The request still stands: the next boundary tries again.
      if (run.requestedSave && run.opts.requests) run.opts.requests.pending ??= run.requestedSave.request;
      run.requestedSave = undefined;
    },
    // Another attempt, or another run, holds the location: no later save can succeed.
    isFatal: (err) => err instanceof FencedError || err instanceof LocationOwnedError,
  }, background);
}

/** A requested save committed: the early checkpoint, in the log and the next progress report. */
function recordEarlyCheckpoint(run: Run, c: CommittedCheckpoint): void {
  const requested = run.requestedSave;
  if (!requested || c.step < requested.step) return;
  run.requestedSave = undefined;
  run.earlyCheckpoint = { requestId: requested.request.id, step: c.step, time: c.time.toISOString() };
  run.opts.log.info(
    { requestId: requested.request.id, reason: requested.request.reason, step: c.step, requestedAt: requested.request.at, checkpoint: c.path },
    "early checkpoint committed on request",
  );
}

/** Steps until done, a stop request or a fatal save error, with background saves as due. A non-finite loss ends the run. */
async function train(run: Run): Promise<void> {
  const { config, stop } = run.opts;
  const { writer } = run.storage!; // a single pod always has its storage
  const session = run.training;
  const schedule = saveSchedule(run);
  const requests = run.opts.requests;
  await trainLoop(session, writer, schedule, run.totalSteps, {
    stepDelayMs: config.stepDelayMs,
    costs: run.costs,
    // Each save's stall in the trainer's own records: what a benchmark sums against training time.
    onSaveStarted: (step, stallSeconds) => run.opts.log.debug({ step, stallSeconds }, "checkpoint snapshot taken"),
    checkpointRequested: () => requests?.pending !== undefined,
    onRequestedSave: (step) => {
      const request = requests?.take();
      if (request) run.requestedSave = { request, step };
    },
    shouldStop: () => stop.requested,
    onStep: stepReporter(run),
  });
  await writer.drain();
  if (writer.fatal) throw writer.fatal;
}

/** The final checkpoint (unless the last commit is of this step); a failure here is an error, not a warning. */
async function save(run: Run): Promise<void> {
  const { log, stop } = run.opts;
  const session = run.training;
  if (stop.requested) log.info({ signal: stop.signal, step: session.step }, "stop requested: writing the final checkpoint");
  let finalWeights;
  if (run.lastCommitted?.step !== session.step) {
    const snapshot = await session.snapshot("final");
    await run.storage!.writer.saveNow(snapshot);
    finalWeights = snapshot.weights; // already on the host: no second copy of a large model
  } else {
    finalWeights = captureWeights(session.model, false);
  }
  run.state.weightsSha256 = weightsSha256(finalWeights);
}

/** At completion the accuracy and the exported model; the last progress report either way. */
async function finish(run: Run): Promise<"completed" | "preempted"> {
  const { log, progress } = run.opts;
  const completed = run.training.step >= run.totalSteps;
  if (completed) {
    run.state.accuracy = run.training.accuracy();
    // Every rank of a gang holds the same weights: rank 0, which has the storage, exports them.
    const storage = run.storage;
    if (storage) {
      const fence = storage.fence;
      const path = await exportModel(run.training.model, storage.store.backend, fence ? () => fence.check() : undefined);
      log.info({ path }, "model exported");
    }
  }
  publish(run);
  await progress.stop();
  return completed ? "completed" : "preempted";
}
