import { selectBackend } from "../backend/select.js";
import { FencedError } from "../checkpoint/errors.js";
import type { Fence } from "../checkpoint/fence.js";
import { openCheckpointStore } from "../checkpoint/open.js";
import { LocationOwnedError } from "../checkpoint/owner.js";
import { weightsSha256 } from "../checkpoint/snapshot.js";
import type { CheckpointStore, CommittedCheckpoint } from "../checkpoint/store.js";
import { CheckpointWriter } from "../checkpoint/writer.js";
import type { TrainerEnv } from "../config/env.js";
import type { TrainingConfig } from "../config/schema.js";
import { loadDataset } from "../data/dataset.js";
import { stepsPerEpoch } from "../data/order.js";
import type { Logger } from "../log.js";
import type { TrainerMetrics } from "../metrics/metrics.js";
import { exportModel } from "../model/export.js";
import { captureWeights } from "../model/state.js";
import type { ProgressReporter } from "../report/progress.js";
import type { Summary } from "../report/summary.js";
import type { CheckpointRequest, EarlyCheckpoint } from "@resumable/protocol";
import type { CheckpointRequests } from "../signals/checkpoint-request.js";
import type { StopRequest } from "../signals/stop.js";
import { DivergedError } from "./errors.js";
import { SaveSchedule, trainLoop, type SaveTrigger } from "./loop.js";
import { AdaptiveSaveSchedule, DEFAULT_INTERVAL_POLICY, SaveCostMeter, type SaveInterval } from "./save-interval.js";
import { restoreNewest } from "./resume.js";
import { TrainingSession } from "./session.js";

export interface RunOptions {
  config: TrainingConfig;
  env: TrainerEnv;
  resumeFrom: string | undefined;
  log: Logger;
  stop: StopRequest;
  metrics: TrainerMetrics;
  progress: ProgressReporter;
  /** Checkpoint requests from the operator (reclaim notices); absent: none are watched. */
  requests?: CheckpointRequests;
}

/** What the summary reports, filled in as the run goes. */
export type RunState = Omit<Summary, "reason" | "error" | "failure">;

/** How the run ended, with what is known so far: the CLI turns it into the summary and exit code. */
export type RunOutcome = { reason: "completed" | "preempted"; state: RunState } | { reason: "failed"; error: Error; state: RunState };

/**
 * One trainer process's run: everything the steps (resume, train, save, finish) share.
 * Created once, by `resume`; `state` is what the summary reports.
 */
interface Run {
  readonly opts: RunOptions;
  readonly state: RunState;
  readonly totalSteps: number;
  readonly store: CheckpointStore;
  readonly fence: Fence | undefined;
  readonly training: TrainingSession;
  readonly writer: CheckpointWriter;
  lastCommitted: CommittedCheckpoint | undefined;
  /** The requested save in flight, until it commits (or fails: the request is asked again). */
  requestedSave: { request: CheckpointRequest; step: number } | undefined;
  /** The newest requested save that committed: reported in progress. */
  earlyCheckpoint: EarlyCheckpoint | undefined;
  /** What saves cost here: the adaptive interval and the flush estimate read it. */
  readonly costs: SaveCostMeter;
  /** The interval `everySteps: "auto"` chose; undefined for a fixed one, or before the first save. */
  interval: SaveInterval | undefined;
}

/** Examples-per-second is measured over windows of this many steps. */
const throughputWindow = 20;

/**
 * One trainer process: resume or start, train until done or told to stop, a final checkpoint,
 * then (at completion) the exported model. Never throws: a failure is an outcome.
 */
export async function runTraining(opts: RunOptions): Promise<RunOutcome> {
  const state = initialRunState(opts.env);
  let run: Run | undefined;
  try {
    run = await resume(opts, state);
    await train(run);
    await save(run);
    return { reason: await finish(run), state };
  } catch (err) {
    await run?.writer.drain(); // a save in flight is of an earlier, valid step: let it land
    return { reason: "failed", error: err as Error, state };
  } finally {
    opts.requests?.stop();
  }
}

function initialRunState(env: TrainerEnv): RunState {
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

/**
 * Backend, data, the claimed checkpoint directory, and the model restored from the newest
 * checkpoint that loads and restores (or --resume-from), else fresh.
 */
async function resume(opts: RunOptions, state: RunState): Promise<Run> {
  const { config, env, log, metrics, progress } = opts;
  const backend = await selectBackend(config, log);
  state.backend = backend;
  const data = await loadDataset(config);
  const totalSteps = config.totalSteps ?? config.epochs! * stepsPerEpoch(data.count, config.batchSize);
  state.totalSteps = totalSteps;

  if (env.attempt === undefined) log.warn("RESUMABLE_ATTEMPT unset: fencing off, nothing stops a concurrent trainer on this directory");
  const { store, fence } = await openCheckpointStore(env, config.checkpoint.keep, log);
  await store.prepare();

  const { loaded, training } = (await restoreNewest(store, { config, data, backend, resumeFrom: opts.resumeFrom, allowFreshStart: env.allowFreshStart, log })) ?? {};
  let lastCommitted: CommittedCheckpoint | undefined;
  if (loaded) {
    lastCommitted = { step: loaded.manifest.step, path: loaded.path, bytes: loaded.bytes, saveSeconds: 0, kind: loaded.manifest.kind, time: new Date(loaded.manifest.createdAt) };
    state.resumedFromStep = loaded.manifest.step;
    log.info({ checkpoint: loaded.path, step: loaded.manifest.step, epoch: loaded.manifest.epoch }, "resuming from checkpoint");
  } else {
    log.info({ totalSteps }, "no valid checkpoint: starting fresh");
  }
  await fence?.recordResume(state.resumedFromStep ?? null);

  const run: Run = {
    opts,
    state,
    totalSteps,
    store,
    fence,
    training: training ?? new TrainingSession(config, data, backend),
    lastCommitted,
    requestedSave: undefined,
    earlyCheckpoint: undefined,
    costs: new SaveCostMeter(),
    interval: undefined,
    writer: new CheckpointWriter(store, env.attempt, log, {
      onCommitted: (c) => {
        run.lastCommitted = c;
        run.costs.observeWrite(c.saveSeconds);
        metrics.recordCheckpoint(c);
        log.info({ checkpoint: c.path, step: c.step, bytes: c.bytes, saveSeconds: c.saveSeconds, kind: c.kind }, "checkpoint committed");
        recordEarlyCheckpoint(run, c);
        publish(run);
        progress.sendSoon();
      },
      onFailed: () => {
        metrics.checkpointFailures.inc();
        // The request still stands: the next boundary tries again.
        if (run.requestedSave && opts.requests) opts.requests.pending ??= run.requestedSave.request;
        run.requestedSave = undefined;
      },
      // Another attempt, or another run, holds the location: no later save can succeed.
      isFatal: (err) => err instanceof FencedError || err instanceof LocationOwnedError,
    }),
  };
  publish(run);
  progress.start();
  opts.requests?.start();
  return run;
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
  const { config, log, stop, metrics } = run.opts;
  const session = run.training;
  let windowStart = performance.now();
  // One line per attempt: where recovery ends (the recovery benchmark reads it).
  let firstStepOfAttempt = true;
  const schedule = saveSchedule(run);
  const requests = run.opts.requests;
  await trainLoop(session, run.writer, schedule, run.totalSteps, {
    stepDelayMs: config.stepDelayMs,
    costs: run.costs,
    checkpointRequested: () => requests?.pending !== undefined,
    onRequestedSave: (step) => {
      const request = requests?.take();
      if (request) run.requestedSave = { request, step };
    },
    shouldStop: () => stop.requested,
    onStep: (loss) => {
      if (!Number.isFinite(loss)) throw new DivergedError(`loss is ${loss} at step ${session.step}: training diverged; nothing from this step on is saved`);
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
      publish(run);
    },
  });
  await run.writer.drain();
  if (run.writer.fatal) throw run.writer.fatal;
}

/** A fixed interval, or under `everySteps: "auto"` the one that pays (save-interval.ts), logged and reported as it changes. */
function saveSchedule(run: Run): SaveTrigger {
  const { config, env, log, metrics, progress } = run.opts;
  const { everySteps, everySeconds, maxOverhead, maxLostSteps, maxLostSeconds } = config.checkpoint;
  const step = run.training.step;
  if (everySteps !== "auto") return new SaveSchedule(everySteps, everySeconds, step, run.totalSteps);
  const d = DEFAULT_INTERVAL_POLICY;
  const policy = {
    disruptionsPerHour: env.disruptionsPerHour ?? d.disruptionsPerHour,
    maxOverhead: maxOverhead ?? d.maxOverhead,
    maxLostSteps: maxLostSteps ?? d.maxLostSteps,
    maxLostSeconds: maxLostSeconds ?? d.maxLostSeconds,
  };
  log.info({ ...policy, fromOperator: env.disruptionsPerHour !== undefined }, "checkpoint interval: auto");
  return new AdaptiveSaveSchedule(step, run.totalSteps, run.costs, policy, (interval, costs) => {
    run.interval = interval;
    metrics.checkpointIntervalSteps.set(interval.steps);
    log.info({ ...interval, ...costs }, "checkpoint interval chosen");
    publish(run);
    progress.sendSoon();
  });
}

/** The final checkpoint (unless the last commit is of this step); a failure here is an error, not a warning. */
async function save(run: Run): Promise<void> {
  const { log, stop } = run.opts;
  const session = run.training;
  if (stop.requested) log.info({ signal: stop.signal, step: session.step }, "stop requested: writing the final checkpoint");
  let finalWeights;
  if (run.lastCommitted?.step !== session.step) {
    const snapshot = await session.snapshot("final");
    await run.writer.saveNow(snapshot);
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
    const fence = run.fence;
    const path = await exportModel(run.training.model, run.store.backend, fence ? () => fence.check() : undefined);
    log.info({ path }, "model exported");
  }
  publish(run);
  await progress.stop();
  return completed ? "completed" : "preempted";
}

/** Copies where training stands into the summary state and the progress report. */
function publish(run: Run): void {
  const { state, training: session, lastCommitted } = run;
  state.step = session.step;
  state.epoch = session.epoch;
  state.loss = session.lastLoss;
  state.checkpoint = lastCommitted ? { step: lastCommitted.step, path: lastCommitted.path, bytes: lastCommitted.bytes, saveSeconds: lastCommitted.saveSeconds } : null;
  run.opts.progress.update({
    step: session.step,
    totalSteps: run.totalSteps,
    epoch: session.epoch,
    loss: session.lastLoss,
    resumedFromStep: state.resumedFromStep,
    checkpoint: lastCommitted
      ? { step: lastCommitted.step, time: lastCommitted.time.toISOString(), bytes: lastCommitted.bytes, reason: lastCommitted.kind, path: lastCommitted.path }
      : null,
    checkpointFailure: run.writer.failing,
    earlyCheckpoint: run.earlyCheckpoint ?? null,
    ...(run.interval ? { checkpointInterval: run.interval } : {}),
    ...(run.costs.flushSeconds !== undefined ? { flushSeconds: run.costs.flushSeconds } : {}),
  });
}
