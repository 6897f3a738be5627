// The side-by-side of a resumable gang and a JobSet (test/bench/gang-vs-jobset.ts): the seeded
// disruption schedule both systems get, and what each disruption cost, worked out from the
// trainers' own records only (one log line per step with its time, where each attempt resumed).
// Pure, so test/bench-smoke/gang-vs-jobset-report.test.ts checks it without a cluster.
import { lostStepsOf } from "@resumable/protocol";
import { seededRandom } from "../support/seeded-random.js";

export type HitKind = "evict" | "hard-loss";

/** One disruption of the schedule: when the gang has reached `atStep`, hit rank `rank`. */
export interface ScheduledHit { kind: HitKind; atStep: number; rank: number }

/**
 * Two disruptions, the same for both systems: a graceful eviction of one rank's pod early in
 * the run, then the hard loss of one rank's node later. Steps, not seconds: both systems are hit
 * at the same point of the training, whatever each lost before. The windows (20-35 % and
 * 55-70 % of the run) keep the second hit clear of the first one's recovery and of the end.
 */
export function gangSchedule(seed: number, totalSteps: number, worldSize: number): ScheduledHit[] {
  if (!Number.isInteger(totalSteps) || totalSteps < 20) throw new Error(`gang-vs-jobset: totalSteps must be an integer of at least 20, got ${totalSteps}`);
  if (!Number.isInteger(worldSize) || worldSize < 2) throw new Error(`gang-vs-jobset: a gang needs at least 2 workers, got ${worldSize}`);
  const rand = seededRandom(seed);
  const at = (from: number) => Math.round(totalSteps * (from + 0.15 * rand()));
  const rank = () => Math.floor(rand() * worldSize);
  return [
    { kind: "evict", atStep: at(0.2), rank: rank() },
    { kind: "hard-loss", atStep: at(0.55), rank: rank() },
  ];
}

/** One rank of one attempt, from its trainer's log. */
export interface RankRecord {
  rank: number;
  /** Time (ms) of its first computed step; undefined if it computed none. */
  firstStepAt?: number;
  /** Time (ms) of its last log line. */
  lastAt: number;
  /** Time (ms) of its last computed step. */
  lastStepAt?: number;
  resumedFrom: number;
  reached: number;
  completed: boolean;
}

/** An attempt of the gang (1 for the first; a JobSet's restart-attempt plus 1) and its ranks' records. */
export interface GangAttempt { attempt: number; ranks: RankRecord[] }

/** A disruption as played: the driver's clock when it acted, and the attempt it hit. */
export interface Hit extends ScheduledHit { at: number; attempt: number }

export interface HitOutcome extends Hit {
  /** Seconds from the hit to the moment every rank of the next gang had computed a step. */
  recoverySeconds?: number;
  /** Steps the hit attempt had computed that the next gang computed again. */
  lostSteps?: number;
}

/** When every one of the `worldSize` ranks had computed a step: the gang training again. */
export function trainingAgainAt(a: GangAttempt, worldSize: number): number | undefined {
  const started = a.ranks.filter((r) => r.firstStepAt !== undefined);
  if (new Set(started.map((r) => r.rank)).size < worldSize) return undefined;
  return Math.max(...started.map((r) => r.firstStepAt!));
}

/**
 * What a hit cost: the first later attempt whose ranks all trained is the recovery (an attempt
 * in between that never formed counts towards the time, not as lost steps: it computed none).
 * Lost steps follow the one rule the operator uses (status.lostSteps): the hit attempt's
 * highest step minus where the recovering attempt resumed.
 */
export function outcomeOf(hit: Hit, attempts: GangAttempt[], worldSize: number): HitOutcome {
  const hitAttempt = attempts.find((a) => a.attempt === hit.attempt);
  const next = attempts.filter((a) => a.attempt > hit.attempt).sort((a, b) => a.attempt - b.attempt)
    .find((a) => trainingAgainAt(a, worldSize) !== undefined);
  if (!next) return { ...hit };
  const out: HitOutcome = { ...hit, recoverySeconds: (trainingAgainAt(next, worldSize)! - hit.at) / 1000 };
  if (hitAttempt && hitAttempt.ranks.length > 0) {
    const reached = Math.max(...hitAttempt.ranks.map((r) => r.reached));
    const resumedFrom = Math.min(...next.ranks.map((r) => r.resumedFrom));
    out.lostSteps = lostStepsOf({ attempt: hit.attempt, resumedFromStep: Math.min(...hitAttempt.ranks.map((r) => r.resumedFrom)), reachedStep: reached }, { attempt: next.attempt, resumedFromStep: resumedFrom }) ?? 0;
  }
  return out;
}

/** Seconds from the start to the last line of the final attempt, if every one of its ranks completed. */
export function wallSeconds(attempts: GangAttempt[], startedAt: number, worldSize: number): number | undefined {
  const last = [...attempts].sort((a, b) => a.attempt - b.attempt).at(-1);
  if (!last || last.ranks.filter((r) => r.completed).length < worldSize) return undefined;
  return (Math.max(...last.ranks.map((r) => r.lastAt)) - startedAt) / 1000;
}

/**
 * Steps per second while rank 0 was computing (its first step to its last, each attempt): how
 * fast the side trained between disruptions. The two sides run one after the other, so this
 * tells a wall-time ratio that the machine's load moved apart from one the disruptions did.
 */
export function trainingRate(attempts: GangAttempt[]): number | undefined {
  let steps = 0;
  let ms = 0;
  for (const a of attempts) {
    const r = a.ranks.find((x) => x.rank === 0);
    if (r?.firstStepAt === undefined || r.lastStepAt === undefined || r.lastStepAt <= r.firstStepAt) continue;
    // The first step line is one step past where it resumed: the rate counts the steps between the lines.
    steps += r.reached - r.resumedFrom - 1;
    ms += r.lastStepAt - r.firstStepAt;
  }
  return ms > 0 ? steps / (ms / 1000) : undefined;
}

/** resumable / JobSet as text: a number when both are, else what makes it no ratio (0 of 0, x of 0). */
export function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined) return "n/a";
  if (theirs === 0) return ours === 0 ? "equal (0 and 0)" : `${ours} vs 0`;
  return (ours / theirs).toFixed(2);
}
