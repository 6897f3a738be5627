// How often to checkpoint when the config says `everySteps: "auto"`: the interval that
// minimises expected lost work plus save cost (Young/Daly: √(2·C/λ) for a save that stalls
// training C seconds and hard losses at rate λ), kept within the run's goals. Pure: the
// measurements come in, an interval goes out, and the loop asks again as they change.
//
// The bounds, in the order they win:
//   1. "write": no interval shorter than the background write (one save in flight at a time:
//      a shorter one would only skip boundaries).
//   2. "overhead": the in-loop stall over the interval stays within maxOverhead (default 2 %).
//   3. "lost-work": no longer than what a hard loss may cost, max(maxLostSteps steps,
//      maxLostSeconds seconds): the goal of 10 steps or 5 s, whichever is larger.
//   4. "optimal": Young/Daly, when it asks for saves more often than the goal does.
// A budget that cannot meet the goal (a slow disk, a large model) says so: the bound that
// decided is reported, and the figures show by how much.

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
  steps: number;
  /** steps × stepSeconds: the training a hard loss just before a save would lose. */
  seconds: number;
  /** Which bound decided (see the file's header). */
  bound: IntervalBound;
  /** stallSeconds / seconds: the share of training time saves stall. */
  overhead: number;
}

export function chooseInterval(costs: SaveCosts, policy: IntervalPolicy): SaveInterval {
  const step = Math.max(costs.stepSeconds, 1e-6);
  const hazardPerSecond = policy.disruptionsPerHour / 3600;
  const optimal = hazardPerSecond > 0 ? Math.sqrt((2 * costs.stallSeconds) / hazardPerSecond) : Infinity;
  const lostWork = Math.max(policy.maxLostSteps * step, policy.maxLostSeconds);
  let seconds = Math.min(optimal, lostWork);
  let bound: IntervalBound = optimal < lostWork ? "optimal" : "lost-work";
  const overheadFloor = costs.stallSeconds / policy.maxOverhead;
  if (seconds < overheadFloor) [seconds, bound] = [overheadFloor, "overhead"];
  // The next save can start once the previous one committed, at the step boundary after it.
  const writeFloor = costs.writeSeconds + step;
  if (seconds < writeFloor) [seconds, bound] = [writeFloor, "write"];
  const steps = Math.max(1, Math.ceil(seconds / step - 1e-9));
  return { steps, seconds: steps * step, bound, overhead: costs.stallSeconds / (steps * step) };
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
 * The save schedule of `everySteps: "auto"`: due every `interval.steps` steps since the last
 * save started, the interval recomputed from what the loop measures. Until the first save
 * has been measured it saves after `firstSaveSteps` steps (a save's cost is not known before
 * one is made; the step time is known after a few steps).
 */
export class AdaptiveSaveSchedule {
  private lastStep: number;
  private readonly step = new MovingMean();
  private readonly stall = new MovingMean();
  private readonly write = new MovingMean();
  private chosen: SaveInterval | undefined;

  constructor(
    startStep: number,
    /** No periodic save at or past this step: the final save follows. */
    private readonly endStep: number,
    private readonly policy: IntervalPolicy,
    /** Told each time the interval changes (log, progress report, metric). */
    private readonly onChange: (interval: SaveInterval, costs: SaveCosts) => void = () => {},
    private readonly firstSaveSteps = 10,
  ) {
    this.lastStep = startStep;
  }

  /** The interval in force; undefined until a save has been measured. */
  get interval(): SaveInterval | undefined {
    return this.chosen;
  }

  /** The measured costs so far (what a flush at SIGTERM will take: a step, the stall and the write). */
  get costs(): SaveCosts | undefined {
    const [stepSeconds, stallSeconds, writeSeconds] = [this.step.current, this.stall.current, this.write.current];
    return stepSeconds === undefined || stallSeconds === undefined || writeSeconds === undefined ? undefined : { stepSeconds, stallSeconds, writeSeconds };
  }

  due(step: number): boolean {
    if (step >= this.endStep) return false;
    return step - this.lastStep >= (this.chosen?.steps ?? this.firstSaveSteps);
  }

  started(step: number): void {
    this.lastStep = step;
  }

  /** A training step took `seconds` (a step that started a save excluded). */
  observeStep(seconds: number): void {
    this.step.add(seconds);
  }

  /** Starting a save held the loop `seconds`. */
  observeStall(seconds: number): void {
    this.stall.add(seconds);
    this.recompute();
  }

  /** A save committed `seconds` after it started. */
  observeWrite(seconds: number): void {
    this.write.add(seconds);
    this.recompute();
  }

  private recompute(): void {
    const costs = this.costs;
    if (costs === undefined) return;
    const next = chooseInterval(costs, this.policy);
    if (next.steps === this.chosen?.steps && next.bound === this.chosen.bound) return;
    this.chosen = next;
    this.onChange(next, costs);
  }
}
