import { DivergedError } from "./errors.js";
import type { Run } from "./run-types.js";

/** Examples-per-second is measured over windows of this many steps. */
const throughputWindow = 20;

/** What every step reports, alone or in a gang: the log, the metrics, the summary and progress. A non-finite loss ends the run. */
export function stepReporter(run: Run): (loss: number) => void {
  const { config, log, metrics } = run.opts;
  const session = run.training;
  let windowStart = performance.now();
  // One line per attempt: where recovery ends (the recovery benchmark reads it).
  let firstStepOfAttempt = true;
  return (loss) => {
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
  };
}

/** Copies where training stands into the summary state and the progress report. */
export function publish(run: Run): void {
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
    checkpointFailure: run.storage?.writer.failing ?? null,
    earlyCheckpoint: run.earlyCheckpoint ?? null,
    ...(run.gang && { rank: run.gang.rank, worldSize: run.gang.worldSize }),
    ...(run.interval && { checkpointInterval: run.interval }),
    ...(run.costs.flushSeconds !== undefined && { flushSeconds: run.costs.flushSeconds }),
  });
}
