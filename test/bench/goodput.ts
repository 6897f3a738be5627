// Goodput side by side: resumable vs a Job running the same trainer with its SIGTERM flush vs a
// Job with periodic checkpoints only vs a Job without checkpoints; one workload, one seeded
// schedule of evictions, graceful node shutdowns and hard node losses (see _goodput.ts).
//
//   node --import tsx test/bench/goodput.ts
//   knobs: BENCH_T (mean seconds between disruptions, 20), BENCH_N (checkpoint every N steps, 100),
//          BENCH_SEED (random when unset; printed), BENCH_STEPS (600), BENCH_HIDDEN (64),
//          BENCH_RECLAIM_SHARE (0.4), BENCH_HARD_LOSS_SHARE (0.2; the rest are evictions),
//          BENCH_NODES_PER_SYSTEM (8), BENCH_MAX_SECONDS (1800)
//   sweep: BENCH_SWEEP_T=40,20,10 BENCH_SWEEP_N=50,200 runs every pair, prints one row each and
//          draws goodput against T as a PNG (BENCH_PLOT, docs/goodput-sweep.png) with the figures
//          beside it as JSON. A second N runs as one more system (a Job + ckpt every N₂ steps)
//          in the same cluster under the same schedule; any further N is a run of the Job + ckpt
//          alone. The other systems run at the first N only: a flush loses nothing to a graceful
//          preemption, so N changes resumable's and the Job + flush's goodput only through the
//          hard losses, and the Job without checkpoints' not at all.
//          BENCH_SWEEP_KEEP=1 keeps the points of the JSON already there at the T values not run
//          now, when its seed, steps, shares and workload are the same: a long T added to a sweep
//          without running the short ones again (the plot says which T was measured when).
//          BENCH_REDRAW=1 draws the PNG again from the JSON beside it, running nothing.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { table } from "./_util.js";
import { runGoodput, SYSTEMS, type GoodputResult, type System } from "./_goodput.js";
import type { DisruptionShares } from "./_goodput-faults.js";
import { sharesTable, sweepRow, SWEEP_HEADER, systemTable } from "./_goodput-report.js";
import { goodputPng, type PlotLine } from "./_plot.js";

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const list = (name: string, fallback: number) => (process.env[name] ? process.env[name]!.split(",").map(Number) : [fallback]);
const seed = num("BENCH_SEED", Math.floor(Math.random() * 2 ** 31));
const steps = num("BENCH_STEPS", 600);
const training = {
  model: "mlp", hiddenUnits: num("BENCH_HIDDEN", 64), dataset: "mnist", totalSteps: steps, batchSize: 32, seed: 7, backend: "cpu",
};
const Ts = list("BENCH_SWEEP_T", num("BENCH_T", 20));
const Ns = list("BENCH_SWEEP_N", num("BENCH_N", 100));
const shares: DisruptionShares = { reclaim: num("BENCH_RECLAIM_SHARE", 0.4), hardLoss: num("BENCH_HARD_LOSS_SHARE", 0.2) };
/** The figures of a sweep measured before hard losses existed carry no shares: these were theirs. */
const SHARES_BEFORE_HARD_LOSSES: DisruptionShares = { reclaim: 0.5, hardLoss: 0 };

/** What the sweep keeps beside its PNG: enough to draw it again. */
interface Figures { seed: number; steps: number; training: typeof training; shares?: DisruptionShares; points: Point[] }
const plot = process.env.BENCH_PLOT ?? "docs/goodput-sweep.png";
const figures = plot.replace(/\.png$/, ".json");
if (process.env.BENCH_REDRAW === "1") {
  drawSweep(JSON.parse(readFileSync(figures, "utf8")) as Figures);
  process.exit(0);
}

console.log(`goodput: T=${Ts.join(",")} s, N=${Ns.join(",")} steps, seed=${seed} (BENCH_SEED=${seed} reproduces the schedule), ${sharesText(shares)}, ${steps} steps of ${JSON.stringify(training)}`);
const rows: (string | number)[][] = [];
/** One system's figures at one T (and N, for the Job + ckpt), with the day it was measured. */
interface Point { T: number; N: number; system: string; goodput: number; completed: boolean; wallSeconds: number; usefulSteps: number; stepsComputed: number; lostSteps: number; preemptions: number; date: string }
const points: Point[] = [];
const today = new Date().toISOString().slice(0, 10);
for (const T of Ts) {
  const runs: { N: number; sparse?: number; systems: readonly System[] }[] = [
    Ns.length > 1 ? { N: Ns[0]!, sparse: Ns[1]!, systems: [...SYSTEMS, "job-ckpt-sparse"] } : { N: Ns[0]!, systems: SYSTEMS },
    ...Ns.slice(2).map((N) => ({ N, systems: ["job-ckpt"] as const })),
  ];
  for (const { N, sparse, systems } of runs) {
    const result = await runGoodput({
      meanIntervalSeconds: T, everySteps: N, ...(sparse !== undefined && { sparseEverySteps: sparse }), seed, training, systems,
      nodesPerSystem: num("BENCH_NODES_PER_SYSTEM", 8), shares,
      maxSeconds: num("BENCH_MAX_SECONDS", 1800),
    });
    report(T, N, result);
    rows.push(sweepRow(T, N, result));
    if (sparse !== undefined) {
      const s = result.systems.find((x) => x.system === "job-ckpt-sparse")!;
      rows.push([T, sparse, "–", "–", `${s.goodput.toFixed(3)}${s.completed ? "" : " (not done)"}`, "–", "–", "–"]);
    }
    for (const s of result.systems) {
      // The sparse Job is the Job + ckpt at another N: one line per (system, N) in the plot.
      points.push({ T, N: s.everySteps, system: s.system === "job-ckpt-sparse" ? "job-ckpt" : s.system, goodput: s.goodput, completed: s.completed, wallSeconds: s.wallSeconds, usefulSteps: s.usefulSteps, stepsComputed: s.stepsComputed, lostSteps: s.lostSteps, preemptions: s.preemptions, date: today });
    }
  }
}
if (rows.length > 1) {
  console.log(`\nSweep (goodput by steps; wall-time ratios of the operator's and the trainer's step; "not done": given up at BENCH_MAX_SECONDS)\n`);
  console.log(table(SWEEP_HEADER, rows));
  keepEarlierPoints(figures);
  points.sort((a, b) => a.T - b.T);
  writeFileSync(figures, `${JSON.stringify({ seed, steps, training, shares, points }, null, 1)}\n`);
  drawSweep({ seed, steps, training, shares, points });
}

/**
 * Draws the sweep: one line per system and checkpoint interval (the Job without checkpoints has
 * none; the Job + ckpt may have two, the second N being the sweep's extra system).
 */
function drawSweep({ seed, steps, training, shares: measured = SHARES_BEFORE_HARD_LOSSES, points: all }: Figures): void {
  const names: Record<string, string> = { resumable: "resumable", "job-flush": "Job + flush", "job-ckpt": "Job + ckpt", "job-none": "Job, no ckpt" };
  const lines: PlotLine[] = [];
  for (const system of SYSTEMS) {
    const intervals = system === "job-none" ? [undefined] : [...new Set(all.filter((p) => p.system === system).map((p) => p.N))].sort((a, b) => a - b);
    for (const N of intervals) {
      const mine = all.filter((p) => p.system === system && (N === undefined || p.N === N));
      if (mine.length === 0) continue;
      lines.push({ label: N === undefined ? names[system]! : `${names[system]}, every ${N} steps`, points: mine });
    }
  }
  // Which T was measured when: a sweep grown with BENCH_SWEEP_KEEP mixes days.
  const byDate = new Map<string, Set<number>>();
  for (const p of all) byDate.set(p.date, (byDate.get(p.date) ?? new Set()).add(p.T));
  const when = [...byDate].map(([date, Ts]) => `T = ${[...Ts].join(", ")} s on ${date}`).join("; ");
  const subtitle = `${steps} steps of the MNIST mlp (${training.hiddenUnits} hidden, cpu), seed ${seed}, ${sharesText(measured)}\nmeasured ${when}`;
  writeFileSync(plot, goodputPng(lines, "Goodput under spot preemptions: resumable vs a Job", subtitle));
  console.log(`\nplot: ${plot} (figures: ${figures})`);
}

function sharesText({ reclaim, hardLoss }: DisruptionShares): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return `${pct(reclaim)} node reclaims, ${pct(hardLoss)} hard node losses, ${pct(Math.max(0, 1 - reclaim - hardLoss))} evictions`;
}

/** With BENCH_SWEEP_KEEP=1, adds the earlier figures at the T values not run now. */
function keepEarlierPoints(json: string): void {
  if (process.env.BENCH_SWEEP_KEEP !== "1" || !existsSync(json)) return;
  const earlier = JSON.parse(readFileSync(json, "utf8")) as Figures;
  const theirs = earlier.shares ?? SHARES_BEFORE_HARD_LOSSES;
  if (earlier.seed !== seed || earlier.steps !== steps || JSON.stringify(earlier.training) !== JSON.stringify(training) || theirs.reclaim !== shares.reclaim || theirs.hardLoss !== shares.hardLoss) {
    console.log(`BENCH_SWEEP_KEEP: ${json} is of another seed, workload or mix of disruptions; its points are not kept`);
    return;
  }
  const mine = new Set(points.map((p) => p.T));
  const kept = earlier.points.filter((p) => !mine.has(p.T));
  points.push(...kept);
  console.log(`BENCH_SWEEP_KEEP: kept ${kept.length} points at T = ${[...new Set(kept.map((p) => p.T))].join(", ")} s from ${json}`);
}

function report(T: number, N: number, r: GoodputResult): void {
  const kinds = (["reclaim", "hard-loss", "evict"] as const).map((k) => `${r.schedule.filter((d) => d.kind === k).length} ${k}`).join(", ");
  console.log(`\nT=${T} s, N=${N}, seed=${seed}: ${r.schedule.length} disruptions scheduled (${kinds}); uninterrupted twin sha ${r.twinSha256.slice(0, 12)}\n`);
  console.log(systemTable(r));
  const shareSteps = sharesTable(r);
  if (shareSteps) console.log(`\nWhere the gain comes from (from → to; lost steps and recovery per disruption of that kind)\n\n${shareSteps}`);
  const res = r.systems.find((s) => s.system === "resumable");
  console.log(`operator's resumable_goodput_ratio (time-based, its own formula): ${r.operatorGoodput ?? "not read"}; the benchmark's (steps): ${res?.goodput.toFixed(3)}`);
}
