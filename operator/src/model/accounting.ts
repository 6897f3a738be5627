// Capacity and cost of a run: GPU-seconds on spot and on-demand, GPU-seconds lost to
// disruptions, preemptions per spot hour, and an estimated cost from the operator's price
// table against training the same steps all on-demand. Pure functions of the run's status:
// reconcile writes the ended attempts' totals to status.accounting, the metrics and the CLI
// add the running attempt at read time.
import { lostStepsOf } from "@resumable/protocol";
import { z } from "zod";
import type { Accounting, AttemptRecord, CapacityType, TrainingRunStatus } from "../api/status.js";
import { toDate } from "./time.js";

/** Prices per hour. */
const priceSchema = z.strictObject({ spot: z.number().nonnegative(), onDemand: z.number().nonnegative() });
export type Price = z.infer<typeof priceSchema>;

/**
 * The chart's `prices` value: per node hour by node.kubernetes.io/instance-type, else per
 * GPU hour times the attempt's GPUs. An attempt priced by neither leaves the cost unset.
 */
export const priceTableSchema = z.strictObject({
  currency: z.string().optional(),
  instanceTypes: z.record(z.string(), priceSchema).optional(),
  perGpu: priceSchema.optional(),
});
export type PriceTable = z.infer<typeof priceTableSchema>;

/** Price of one hour of `record`'s pod on `capacity`; undefined when the table has no row for it. */
export function hourlyPrice(prices: PriceTable, record: AttemptRecord, capacity: CapacityType): number | undefined {
  const row = record.instanceType !== undefined ? prices.instanceTypes?.[record.instanceType] : undefined;
  const perGpu = prices.perGpu;
  // A gang's ranks each take a node of rank 0's instance type.
  const nodes = record.ranks?.length ?? 1;
  const price = row ? { spot: row.spot * nodes, onDemand: row.onDemand * nodes } : (perGpu && { spot: perGpu.spot * gpusOf(record), onDemand: perGpu.onDemand * gpusOf(record) });
  if (price === undefined) return undefined;
  return capacity === "spot" ? price.spot : price.onDemand;
}

/** A pod without an accelerator limit (a CPU trainer, as on the test cluster) counts as one GPU. */
export function gpusOf(record: AttemptRecord): number {
  return Math.max(record.ranks?.length ?? 1, record.gpus ?? 1);
}

/** Seconds from `from` to `to`; 0 when either is unknown. */
export function seconds(from: Date | undefined, to: Date | undefined): number {
  return from && to ? Math.max(0, (to.getTime() - from.getTime()) / 1000) : 0;
}

/**
 * Wall time behind `lost` steps that the attempt after `record` trained again (the
 * protocol's lost-steps rule), at `record`'s own pace; 0 when its pace is unknown.
 */
export function lostSecondsOf(record: AttemptRecord | undefined, lost: number | undefined): number {
  const reached = record?.reachedStep;
  if (record === undefined || reached === undefined || !lost) return 0;
  const stepsTrained = reached - (record.resumedFromStep ?? 0);
  const duration = seconds(toDate(record.startTime), toDate(record.endTime));
  return stepsTrained > 0 ? (lost * duration) / stepsTrained : 0;
}

/** Sums kept in status.accounting, before the derived fields. */
interface Totals {
  spotGpuSeconds: number;
  onDemandGpuSeconds: number;
  lostGpuSeconds: number;
  spotSeconds: number;
  onDemandSeconds: number;
  spotPreemptions: number;
  spotCost: number;
  onDemandCost: number;
  allOnDemandCost: number;
  /** False once an attempt had no price: the cost fields are then left unset. */
  priced: boolean;
}

const ZERO: Totals = {
  spotGpuSeconds: 0,
  onDemandGpuSeconds: 0,
  lostGpuSeconds: 0,
  spotSeconds: 0,
  onDemandSeconds: 0,
  spotPreemptions: 0,
  spotCost: 0,
  onDemandCost: 0,
  allOnDemandCost: 0,
  priced: true,
};

/**
 * What `attempts` used and lost. Each attempt is charged its own time, the steps it trained
 * that its successor had to train again (at its own pace) and the gap until its successor
 * started when a preemption or a move ended it. With `now` unset only ended attempts count
 * (what the status holds); with it, a running attempt counts up to `now`.
 */
export function attemptTotals(attempts: readonly AttemptRecord[], prices: PriceTable, now?: Date): Totals {
  const byNumber = new Map(attempts.map((a) => [a.attempt, a]));
  const t = { ...ZERO };
  for (const record of attempts) {
    const end = toDate(record.endTime) ?? now;
    if (end === undefined || record.startTime === undefined) continue;
    const capacity = record.capacityType ?? "spot";
    const gpus = gpusOf(record);
    const ran = seconds(toDate(record.startTime), end);
    const next = byNumber.get(record.attempt + 1);
    const lost = next ? lostSecondsOf(record, lostStepsOf(record, next)) : 0;
    const disrupted = record.endReason === "Preempted" || record.endReason === "Moved";
    // Until the next attempt that ran: a replaced pod that never started (PendingOnSpot) is part of the gap.
    const resumed = disrupted ? nextStarted(attempts, record.attempt) : undefined;
    const gap = resumed !== undefined ? seconds(toDate(record.endTime), toDate(resumed.startTime)) : 0;
    if (capacity === "spot") {
      t.spotGpuSeconds += ran * gpus;
      t.spotSeconds += ran;
      if (record.endReason === "Preempted") t.spotPreemptions += 1;
    } else {
      t.onDemandGpuSeconds += ran * gpus;
      t.onDemandSeconds += ran;
    }
    t.lostGpuSeconds += (lost + gap) * gpus;
    const price = hourlyPrice(prices, record, capacity);
    const onDemand = hourlyPrice(prices, record, "on-demand");
    if (price === undefined || onDemand === undefined) {
      t.priced = false;
      continue;
    }
    if (capacity === "spot") t.spotCost += (ran * price) / 3600;
    else t.onDemandCost += (ran * price) / 3600;
    // The same useful steps on on-demand, where nothing is lost.
    t.allOnDemandCost += (Math.max(0, ran - lost) * onDemand) / 3600;
  }
  return t;
}

/** The first attempt after `attempt` that started, when every one between never did. */
function nextStarted(attempts: readonly AttemptRecord[], attempt: number): AttemptRecord | undefined {
  for (const a of [...attempts].sort((x, y) => x.attempt - y.attempt)) {
    if (a.attempt <= attempt) continue;
    if (a.startTime !== undefined) return a;
    if (a.endReason !== "Moved") return undefined;
  }
  return undefined;
}

function toTotals(a: Accounting | undefined): Totals {
  if (a === undefined) return { ...ZERO };
  return {
    spotGpuSeconds: a.spotGpuSeconds,
    onDemandGpuSeconds: a.onDemandGpuSeconds,
    lostGpuSeconds: a.lostGpuSeconds,
    spotSeconds: a.spotSeconds ?? 0,
    onDemandSeconds: a.onDemandSeconds ?? 0,
    spotPreemptions: a.spotPreemptions ?? 0,
    spotCost: a.spotCost ?? 0,
    onDemandCost: a.onDemandCost ?? 0,
    allOnDemandCost: a.allOnDemandCost ?? 0,
    priced: a.estimatedCost !== undefined || (a.spotGpuSeconds === 0 && a.onDemandGpuSeconds === 0),
  };
}

function combine(a: Totals, b: Totals, sign: 1 | -1): Totals {
  return {
    spotGpuSeconds: a.spotGpuSeconds + sign * b.spotGpuSeconds,
    onDemandGpuSeconds: a.onDemandGpuSeconds + sign * b.onDemandGpuSeconds,
    lostGpuSeconds: a.lostGpuSeconds + sign * b.lostGpuSeconds,
    spotSeconds: a.spotSeconds + sign * b.spotSeconds,
    onDemandSeconds: a.onDemandSeconds + sign * b.onDemandSeconds,
    spotPreemptions: a.spotPreemptions + sign * b.spotPreemptions,
    spotCost: a.spotCost + sign * b.spotCost,
    onDemandCost: a.onDemandCost + sign * b.onDemandCost,
    allOnDemandCost: a.allOnDemandCost + sign * b.allOnDemandCost,
    priced: a.priced && b.priced,
  };
}

/** Rounded so a float's last digits never make a status write of their own. */
const round = (x: number, digits = 3) => Math.round(Math.max(0, x) * 10 ** digits) / 10 ** digits;

function toAccounting(t: Totals, prices: PriceTable): Accounting {
  const cost = t.priced && (t.spotGpuSeconds > 0 || t.onDemandGpuSeconds > 0);
  const estimated = t.spotCost + t.onDemandCost;
  return {
    spotGpuSeconds: round(t.spotGpuSeconds),
    onDemandGpuSeconds: round(t.onDemandGpuSeconds),
    lostGpuSeconds: round(t.lostGpuSeconds),
    spotSeconds: round(t.spotSeconds),
    onDemandSeconds: round(t.onDemandSeconds),
    spotPreemptions: t.spotPreemptions,
    ...(t.spotSeconds > 0 ? { preemptionsPerSpotHour: round((t.spotPreemptions * 3600) / t.spotSeconds) } : {}),
    ...(cost
      ? {
          spotCost: round(t.spotCost, 6),
          onDemandCost: round(t.onDemandCost, 6),
          estimatedCost: round(estimated, 6),
          allOnDemandCost: round(t.allOnDemandCost, 6),
          // Signed: a run that lost more on spot than spot saved has a negative saving.
          saving: Math.round((t.allOnDemandCost - estimated) * 1e6) / 1e6,
          ...(prices.currency ? { currency: prices.currency } : {}),
        }
      : {}),
  };
}

/**
 * The run's accounting after a pass that turned `before`'s attempts into `after`'s: the
 * totals so far plus what changed among the attempts either history holds, so attempts
 * trimmed from the bounded history stay counted. Ended attempts only: the status changes
 * when an attempt ends or its successor reports, never with the clock.
 */
export function nextAccounting(before: TrainingRunStatus | undefined, after: readonly AttemptRecord[], prices: PriceTable): Accounting {
  const old = before?.attempts ?? [];
  const union = new Map(old.map((a) => [a.attempt, a]));
  for (const a of after) union.set(a.attempt, a);
  const all = [...union.values()].sort((x, y) => x.attempt - y.attempt);
  // A status written before accounting existed: its history so far is the starting point.
  const start = before?.accounting === undefined ? attemptTotals(old, prices) : toTotals(before.accounting);
  const totals = combine(start, combine(attemptTotals(all, prices), attemptTotals(old, prices), -1), 1);
  return toAccounting(totals, prices);
}

/** The status' accounting with the running attempt added up to `now`: what metrics and the CLI show. */
export function liveAccounting(status: TrainingRunStatus | undefined, prices: PriceTable, now: Date): Accounting {
  const attempts = status?.attempts ?? [];
  const running = combine(attemptTotals(attempts, prices, now), attemptTotals(attempts, prices), -1);
  return toAccounting(combine(toTotals(status?.accounting), running, 1), prices);
}

/**
 * Hard losses per hour to expect on `capacity`, for a trainer that checkpoints as often as it
 * pays (`checkpoint.everySteps: auto`, RESUMABLE_DISRUPTIONS_PER_HOUR). On spot: the run's own
 * preemptions per spot hour, blended with the operator's prior as if the prior were one hour
 * already seen, so a new run starts at the prior and a long one follows what it lived through.
 * On-demand nodes are rarely lost: a tenth of the spot prior.
 */
export function expectedDisruptionsPerHour(accounting: Accounting | undefined, capacity: CapacityType, spotPrior: number): number {
  if (capacity !== "spot") return spotPrior / 10;
  const hours = (accounting?.spotSeconds ?? 0) / 3600;
  return ((accounting?.spotPreemptions ?? 0) + spotPrior) / (hours + 1);
}
