import { selectBackend } from "../backend/select.js";
import { Fence, FencedError } from "../checkpoint/fence.js";
import { weightsSha256 } from "../checkpoint/snapshot.js";
import { CheckpointStore, type CommittedCheckpoint, type LoadedCheckpoint } from "../checkpoint/store.js";
import { CheckpointWriter } from "../checkpoint/writer.js";
import { checkResumable } from "../config/compat.js";
import type { TrainerEnv } from "../config/env.js";
import { ConfigError } from "../config/errors.js";
import type { TrainingConfig } from "../config/schema.js";
import { loadDataset } from "../data/dataset.js";
import { stepsPerEpoch } from "../data/order.js";
import type { Logger } from "../log.js";
import type { TrainerMetrics } from "../metrics/metrics.js";
import { exportModel } from "../model/export.js";
import { captureWeights } from "../model/state.js";
import type { ProgressReporter } from "../report/progress.js";
import type { Summary } from "../report/summary.js";
import type { StopRequest } from "../signals/stop.js";
import { SaveSchedule, trainLoop } from "./loop.js";
import { TrainingSession } from "./session.js";

export interface RunOptions {
  config: TrainingConfig;
  env: TrainerEnv;
  resumeFrom: string | undefined;
  log: Logger;
  stop: StopRequest;
  metrics: TrainerMetrics;
  progress: ProgressReporter;
}

/**
 * What is known so far; the CLI builds a `failed` summary from it if the run throws. Filled
 * in as the run goes.
 */
export type RunState = Omit<Summary, "reason" | "error">;

export function initialRunState(env: TrainerEnv): RunState {
  return {
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

/** Examples-per-second is measured over windows of this many steps. */
const throughputWindow = 20;

/**
 * One trainer process: resume or start, train until done or told to stop, then a final
 * checkpoint (and at completion the exported model). Returns the summary's reason.
 */
export async function runTraining(opts: RunOptions, state: RunState): Promise<"completed" | "preempted"> {
  const { config, env, log, stop, metrics, progress } = opts;
  const backend = await selectBackend(config, log);
  state.backend = backend;
  const data = await loadDataset(config);
  const totalSteps = config.totalSteps ?? config.epochs! * stepsPerEpoch(data.count, config.batchSize);
  state.totalSteps = totalSteps;

  if (env.attempt === undefined) log.warn("RESUMABLE_ATTEMPT unset: fencing off, nothing stops a concurrent trainer on this directory");
  const fence = env.attempt === undefined ? undefined : new Fence(env.checkpointDir, env.attempt);
  const store = new CheckpointStore({ dir: env.checkpointDir, keep: config.checkpoint.keep, log, fence });
  await store.prepare();

  const session = new TrainingSession(config, data, backend);
  const loaded = opts.resumeFrom !== undefined ? await loadNamed(store, opts.resumeFrom) : await store.loadNewestValid();
  let lastCommitted: CommittedCheckpoint | undefined;
  if (loaded) {
    const changed = checkResumable(loaded.manifest.config, config, loaded.path);
    if (changed.length > 0) log.info({ fields: changed }, "config changed since the checkpoint; these changes are allowed");
    await session.restore(loaded);
    lastCommitted = { step: loaded.manifest.step, path: loaded.path, bytes: loaded.bytes, saveSeconds: 0, kind: loaded.manifest.kind, time: new Date(loaded.manifest.createdAt) };
    state.resumedFromStep = loaded.manifest.step;
    log.info({ checkpoint: loaded.path, step: loaded.manifest.step, epoch: loaded.manifest.epoch }, "resuming from checkpoint");
  } else {
    log.info({ totalSteps }, "no valid checkpoint: starting fresh");
  }

  const publish = () => {
    state.step = session.step;
    state.epoch = session.epoch;
    state.loss = session.lastLoss;
    state.checkpoint = lastCommitted ? { step: lastCommitted.step, path: lastCommitted.path, bytes: lastCommitted.bytes, saveSeconds: lastCommitted.saveSeconds } : null;
    progress.update({
      step: session.step,
      totalSteps,
      epoch: session.epoch,
      loss: session.lastLoss,
      resumedFromStep: state.resumedFromStep,
      checkpoint: lastCommitted ? { step: lastCommitted.step, time: lastCommitted.time.toISOString(), bytes: lastCommitted.bytes, reason: lastCommitted.kind } : null,
    });
  };
  const writer = new CheckpointWriter(
    store,
    env.attempt,
    log,
    (c) => {
      lastCommitted = c;
      metrics.recordCheckpoint(c);
      log.info({ checkpoint: c.path, step: c.step, bytes: c.bytes, saveSeconds: c.saveSeconds, kind: c.kind }, "checkpoint committed");
      publish();
      progress.sendSoon();
    },
    (err) => {
      metrics.checkpointFailures.inc();
      return err instanceof FencedError;
    },
  );
  publish();
  progress.start();

  let windowStart = performance.now();
  // One line per attempt: where recovery ends (the recovery benchmark reads it).
  let firstStepOfAttempt = true;
  const schedule = new SaveSchedule(config.checkpoint.everySteps, config.checkpoint.everySeconds, session.step, totalSteps);
  await trainLoop(session, writer, schedule, totalSteps, {
    shouldStop: () => stop.requested,
    onStep: (loss) => {
      if (firstStepOfAttempt) {
        firstStepOfAttempt = false;
        log.info({ step: session.step, loss }, "first step of this attempt");
      }
      log.trace({ step: session.step, loss }, "step");
      let examplesPerSecond: number | undefined;
      if (session.step % throughputWindow === 0) {
        const now = performance.now();
        examplesPerSecond = (throughputWindow * config.batchSize * 1000) / (now - windowStart);
        windowStart = now;
        log.debug({ step: session.step, loss, examplesPerSecond }, "training");
      }
      metrics.recordStep(session.step, loss, examplesPerSecond);
      publish();
    },
  });

  await writer.drain();
  if (writer.fatal) throw writer.fatal;
  const completed = session.step >= totalSteps;
  if (stop.requested) log.info({ signal: stop.signal, step: session.step }, "stop requested: writing the final checkpoint");
  let finalWeights;
  if (lastCommitted?.step !== session.step) {
    const snapshot = await session.snapshot("final");
    await writer.saveNow(snapshot);
    finalWeights = snapshot.weights; // already on the host: no second copy of a large model
  } else {
    finalWeights = captureWeights(session.model, false);
  }
  state.weightsSha256 = weightsSha256(finalWeights);
  if (completed) {
    state.accuracy = session.accuracy();
    const path = await exportModel(session.model, env.checkpointDir, fence ? () => fence.check() : undefined);
    log.info({ path }, "model exported");
  }
  publish();
  await progress.stop();
  return completed ? "completed" : "preempted";
}

/** --resume-from: a checkpoint that does not load is the caller's mistake (exit 2), never quarantined. */
async function loadNamed(store: CheckpointStore, path: string): Promise<LoadedCheckpoint> {
  try {
    return await store.load(path);
  } catch (err) {
    throw new ConfigError(`--resume-from ${path}: ${(err as Error).message}`);
  }
}
