// The goodput benchmark's tables (test/bench/goodput.ts prints them): one row per system, and
// where the gain comes from, split in two steps: the trainer's share (its SIGTERM flush: a Job
// with periodic checkpoints only → the same Job with the flush) and the operator's (that Job →
// resumable: no pod-recreation back-off, notices, fallback, force-deleting pods of lost nodes).
import { median, table } from "./_util.js";
import type { GoodputResult } from "./_goodput.js";
import { isGraceful, type DisruptionOutcome, type SystemResult } from "./_goodput-records.js";

/** Lost steps and recovery over one kind of disruption (graceful or hard) of one system. */
export function byKind(s: SystemResult, graceful: boolean) {
  const hits = s.disruptions.filter((d) => isGraceful(d) === graceful);
  const known = hits.filter((d): d is DisruptionOutcome & { lostSteps: number } => d.lostSteps !== undefined);
  const recoveries = hits.flatMap((d) => (d.recoverySeconds === undefined ? [] : [d.recoverySeconds]));
  return {
    count: hits.length,
    lostPer: known.length ? known.reduce((n, d) => n + d.lostSteps, 0) / known.length : undefined,
    recoveryP50: recoveries.length ? median(recoveries) : undefined,
  };
}

const orDash = (x: number | undefined) => x ?? "-";

export function systemTable(r: GoodputResult): string {
  const row = (s: SystemResult) => {
    const [soft, hard] = [byKind(s, true), byKind(s, false)];
    return [
      s.system, s.completed ? "yes" : "NO", s.wallSeconds, s.stepsComputed, s.usefulSteps, s.goodput, s.lostSteps,
      `${soft.count} + ${hard.count}`, orDash(soft.lostPer), orDash(hard.lostPer), orDash(soft.recoveryP50), orDash(hard.recoveryP50),
      s.weightsSha256 ? `${s.weightsSha256.slice(0, 12)}${s.weightsSha256 === r.twinSha256 ? " (= twin)" : " (≠ twin)"}` : "-",
    ];
  };
  return table(
    ["system", "done", "wall s", "steps computed", "useful", "goodput", "lost", "graceful + hard", "lost/graceful", "lost/hard", "recovery p50 graceful s", "recovery p50 hard s", "weights sha"],
    r.systems.map(row),
  );
}

/** Job + ckpt → Job + flush → resumable, each step's difference; undefined without the three. */
export function sharesTable(r: GoodputResult): string | undefined {
  const by = Object.fromEntries(r.systems.map((s) => [s.system, s]));
  const [job, flush, res] = [by["job-ckpt"], by["job-flush"], by.resumable];
  if (!job || !flush || !res) return undefined;
  const step = (label: string, from: SystemResult, to: SystemResult) => {
    const [a, b] = [byKind(from, true), byKind(to, true)];
    const [ah, bh] = [byKind(from, false), byKind(to, false)];
    const wall = (s: SystemResult) => `${s.wallSeconds.toFixed(0)}${s.completed ? "" : " (not done)"}`;
    const arrow = (x: number | undefined, y: number | undefined) => `${x === undefined ? "-" : x.toFixed(1)} → ${y === undefined ? "-" : y.toFixed(1)}`;
    return [label, `${wall(from)} → ${wall(to)}`, `${from.goodput.toFixed(3)} → ${to.goodput.toFixed(3)}`,
      arrow(a.lostPer, b.lostPer), arrow(ah.lostPer, bh.lostPer), arrow(a.recoveryP50, b.recoveryP50), arrow(ah.recoveryP50, bh.recoveryP50)];
  };
  return table(
    ["step", "wall s", "goodput", "lost/graceful", "lost/hard", "recovery p50 graceful s", "recovery p50 hard s"],
    [step("the trainer's flush: Job+ckpt → Job+flush", job, flush), step("the operator: Job+flush → resumable", flush, res)],
  );
}

/** One sweep row: goodput of each system at (T, N), and the wall-time ratios of the two steps. */
export function sweepRow(T: number, N: number, r: GoodputResult): (string | number)[] {
  const by = Object.fromEntries(r.systems.map((s) => [s.system, s]));
  const cell = (s: SystemResult | undefined) => (s ? `${s.goodput.toFixed(3)}${s.completed ? "" : " (not done)"}` : "–");
  const ratio = (a: SystemResult | undefined, b: SystemResult | undefined) => (a && b ? a.wallSeconds / b.wallSeconds : "–");
  return [T, N, cell(by.resumable), cell(by["job-flush"]), cell(by["job-ckpt"]), cell(by["job-none"]),
    ratio(by.resumable, by["job-flush"]), ratio(by["job-flush"], by["job-ckpt"])];
}

export const SWEEP_HEADER = ["T s", "N", "resumable", "job+flush", "job+ckpt", "job, no ckpt", "wall resumable / job+flush", "wall job+flush / job+ckpt"];
