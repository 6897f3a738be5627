// How often to checkpoint when the config says `everySteps: "auto"`: the interval that
// minimises expected lost work plus save cost (Young/Daly: √(2·C/λ) for a save that stalls
// training C seconds and hard losses at rate λ), kept within the run's goals. Pure: the
// measurements come in, an interval goes out, and the loop asks again as they change.
//
// A hard loss just before a save commits loses the interval and the write: the save of step
// S+I commits W seconds after it started, and until then the resume point is S. So the goal
// bounds interval + write, and that sum is what is reported as the loss a hard loss can cost.
// The bounds, in the order they win:
//   1. "write": no interval shorter than the write and a step (one save in flight at a time:
//      a shorter one would only skip boundaries).
//   2. "overhead": the in-loop stall over the interval stays within maxOverhead (default 2 %).
//   3. "lost-work": interval + write no longer than max(maxLostSteps steps, maxLostSeconds
//      seconds): the goal of 10 steps or 5 s, whichever is larger.
//   4. "optimal": Young/Daly, when it asks for saves more often than the goal does.
// A budget that cannot meet the goal (a slow disk, a large model) says so: the bound that
// decided is reported, with the figures that show by how much.

export interface SaveCosts {
  /** Wall seconds of one training step, saves excluded. */
  stepSeconds: number;
  /** Seconds a save holds the training loop (the snapshot copy to host memory). */
  stallSeconds: number;
  /** Seconds from a save's start to its commit, in the background. */
  writeSeconds: number;
}

export interface IntervalPolicy {
  /** Hard losses per hour on the capacity the attempt runs on (the operator's figure, or its prior). */
  disruptionsPerHour: number;
  /** The share of training time saves may stall, 0 < x < 1. */
  maxOverhead: number;
  /** A hard loss may lose up to this many steps... */
  maxLostSteps: number;
  /** ...or this many seconds of training, whichever is more. */
  maxLostSeconds: number;
}

export const DEFAULT_INTERVAL_POLICY: IntervalPolicy = { disruptionsPerHour: 1, maxOverhead: 0.02, maxLostSteps: 10, maxLostSeconds: 5 };

export type IntervalBound = "write" | "overhead" | "lost-work" | "optimal";

export interface SaveInterval {
  /** Steps between saves. */
  steps: number;
  /** steps × stepSeconds. */
  seconds: number;
  /** The most a hard loss can cost, in steps: the interval and the write (see the header). */
  lostSteps: number;
  /** Which bound decided (see the header). */
  bound: IntervalBound;
  /** stallSeconds / seconds: the share of training time saves stall. */
  overhead: number;
}

export function chooseInterval(costs: SaveCosts, policy: IntervalPolicy): SaveInterval {
  const step = Math.max(costs.stepSeconds, 1e-6);
  const writeSteps = Math.ceil(costs.writeSeconds / step - 1e-9);
  const goalSteps = Math.max(policy.maxLostSteps, Math.floor(policy.maxLostSeconds / step + 1e-9));
  const hazardPerSecond = policy.disruptionsPerHour / 3600;
  const optimalSteps = hazardPerSecond > 0 ? Math.floor(Math.sqrt((2 * costs.stallSeconds) / hazardPerSecond) / step) : Infinity;
  let steps = goalSteps - writeSteps;
  let bound: IntervalBound = "lost-work";
  if (optimalSteps < steps) [steps, bound] = [optimalSteps, "optimal"];
  const overheadSteps = Math.ceil(costs.stallSeconds / policy.maxOverhead / step - 1e-9);
  if (steps < overheadSteps) [steps, bound] = [overheadSteps, "overhead"];
  // The next save can start once the previous one committed, at the step boundary after it.
  if (steps < writeSteps + 1) [steps, bound] = [writeSteps + 1, "write"];
  steps = Math.max(1, steps);
  return { steps, seconds: steps * step, lostSteps: steps + writeSteps, bound, overhead: costs.stallSeconds / (steps * step) };
}

/**
 * A running mean that follows change: each new value moves it by `weight`, so a disk that
 * slows down (or a model that grows its step) shows within a few saves, while one slow save
 * does not swing the interval.
 */
export class MovingMean {
  private value: number | undefined;

  constructor(private readonly weight = 0.3) {}

  add(x: number): void {
    if (!Number.isFinite(x) || x < 0) return;
    this.value = this.value === undefined ? x : this.value + this.weight * (x - this.value);
  }

  get current(): number | undefined {
    return this.value;
  }
}

/**
 * What saves cost, measured by the training loop as it goes: a step, the stall a save's start
 * holds the loop for, and the background write. Kept for every run, not only "auto" ones: a
 * final flush at SIGTERM costs about a step, a stall and a write, and the operator warns when
 * that does not fit the grace period (progress `flushSeconds`).
 */
export class SaveCostMeter {
  private readonly step = new MovingMean();
  private readonly stall = new MovingMean();
  private readonly write = new MovingMean();
  /** Counts save measurements, so a schedule recomputes only when one came in. */
  saves = 0;

  /** A training step took `seconds` (a step that started a save excluded). */
  observeStep(seconds: number): void {
    this.step.add(seconds);
  }

  /** Starting a save held the loop `seconds`. */
  observeStall(seconds: number): void {
    this.stall.add(seconds);
    this.saves += 1;
  }

  /** A save committed `seconds` after it started. */
  observeWrite(seconds: number): void {
    this.write.add(seconds);
    this.saves += 1;
  }

  /** Undefined until a step, a stall and a write have each been measured. */
  get costs(): SaveCosts | undefined {
    const [stepSeconds, stallSeconds, writeSeconds] = [this.step.current, this.stall.current, this.write.current];
    return stepSeconds === undefined || stallSeconds === undefined || writeSeconds === undefined ? undefined : { stepSeconds, stallSeconds, writeSeconds };
  }

  /** A final flush: the step in progress, the snapshot and the write. */
  get flushSeconds(): number | undefined {
    const c = this.costs;
    return c && c.stepSeconds + c.stallSeconds + c.writeSeconds;
  }
}

/**
 * The save schedule of `everySteps: "auto"`: due every `interval.steps` steps since the last
 * save started, the interval recomputed from the meter whenever a save was measured. Until
 * then it saves after `firstSaveSteps` steps (a save's cost is not known before one is made).
 */
export class AdaptiveSaveSchedule {
  private lastStep: number;
  private chosen: SaveInterval | undefined;
  private seenSaves = 0;

  constructor(
    startStep: number,
    /** No periodic save at or past this step: the final save follows. */
    private readonly endStep: number,
    private readonly meter: SaveCostMeter,
    private readonly policy: IntervalPolicy,
    /** Told each time the interval changes (log, progress report, metric). */
    private readonly onChange: (interval: SaveInterval, costs: SaveCosts) => void = () => {},
    private readonly firstSaveSteps = 10,
  ) {
    this.lastStep = startStep;
  }

  /** The interval in force; undefined until a save has been measured. */
  get interval(): SaveInterval | undefined {
    this.refresh();
    return this.chosen;
  }

  due(step: number): boolean {
    if (step >= this.endStep) return false;
    return step - this.lastStep >= (this.interval?.steps ?? this.firstSaveSteps);
  }

  started(step: number): void {
    this.lastStep = step;
  }

  private refresh(): void {
    if (this.meter.saves === this.seenSaves) return;
    this.seenSaves = this.meter.saves;
    const costs = this.meter.costs;
    if (costs === undefined) return;
    const next = chooseInterval(costs, this.policy);
    // Within a tenth of the interval in force: noise in the measurements, not a change worth a
    // log line and a progress report.
    if (this.chosen !== undefined && Math.abs(next.steps - this.chosen.steps) <= this.chosen.steps / 10) return;
    this.chosen = next;
    this.onChange(next, costs);
  }
}
