import { setTimeout as sleep, setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { CheckpointWriter } from "../checkpoint/writer.js";
import { publish } from "./publish.js";
import type { Run } from "./run-types.js";
import { AdaptiveSaveSchedule, DEFAULT_INTERVAL_POLICY, type SaveCostMeter } from "./save-interval.js";
import type { TrainingSession } from "./session.js";

/** When a periodic save is due: SaveSchedule (a fixed interval) or AdaptiveSaveSchedule ("auto"). */
export interface SaveTrigger {
  due(step: number): boolean;
  started(step: number): void;
}

/** When a periodic save is due: every N steps and/or N seconds since the last one started. */
export class SaveSchedule implements SaveTrigger {
  private lastStep: number;
  private lastTime = performance.now();

  constructor(
    private readonly everySteps: number,
    private readonly everySeconds: number,
    startStep: number,
    /** No periodic save at or past this step: the final save follows. */
    private readonly endStep: number,
  ) {
    this.lastStep = startStep;
  }

  due(step: number): boolean {
    if (step >= this.endStep) return false;
    return (
      (this.everySteps > 0 && step - this.lastStep >= this.everySteps) ||
      (this.everySeconds > 0 && performance.now() - this.lastTime >= this.everySeconds * 1000)
    );
  }

  started(step: number): void {
    this.lastStep = step;
    this.lastTime = performance.now();
  }
}

export interface LoopHooks {
  shouldStop: () => boolean;
  onStep: (loss: number) => void;
  /** A checkpoint request (a reclaim notice) waits for this boundary; checked once per step. */
  checkpointRequested?: () => boolean;
  /** The requested save of `step` has started (on the normal, atomic, background path). */
  onRequestedSave?: (step: number) => void;
  /** The config's stepDelayMs: each step waits this long first, as a slow step would. */
  stepDelayMs?: number;
  /** Measures steps and save stalls (the adaptive interval and the flush estimate read it). */
  costs?: SaveCostMeter;
  /** A background save of `step` started after holding the loop `stallSeconds` (the snapshot). */
  onSaveStarted?: (step: number, stallSeconds: number) => void;
}

/**
 * Steps until `untilStep`, a stop request or a fatal save error, starting a background save
 * whenever one is due or requested and none is in flight (such a save waits for a later
 * boundary). A requested save restarts the periodic schedule: it is as good as a periodic one.
 */
export async function trainLoop(
  session: TrainingSession,
  writer: CheckpointWriter,
  schedule: SaveTrigger | undefined,
  untilStep: number,
  hooks: LoopHooks,
): Promise<void> {
  while (session.step < untilStep && !hooks.shouldStop() && !writer.fatal) {
    const stepStart = performance.now();
    // Part of the step: a stop request waits for it, as for a long computation.
    if (hooks.stepDelayMs) await sleep(hooks.stepDelayMs);
    hooks.onStep(session.trainStep());
    const requested = hooks.checkpointRequested?.() ?? false;
    if ((requested || schedule?.due(session.step)) && !writer.busy) {
      const stallStart = performance.now();
      writer.startAsync(await session.snapshot("periodic"));
      const stall = (performance.now() - stallStart) / 1000;
      hooks.costs?.observeStall(stall);
      hooks.onSaveStarted?.(session.step, stall);
      schedule?.started(session.step);
      if (requested) hooks.onRequestedSave?.(session.step);
    } else {
      hooks.costs?.observeStep((performance.now() - stepStart) / 1000);
    }
    // Lets signals, background writes and the metrics server run between steps.
    await yieldToEventLoop();
  }
}

/** A fixed interval, or under `everySteps: "auto"` the one that pays (save-interval.ts), logged and reported as it changes. */
export function saveSchedule(run: Run): SaveTrigger {
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
