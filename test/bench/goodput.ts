// Goodput side by side: resumable vs a Job with podFailurePolicy and periodic checkpoints vs a
// Job without checkpoints, one workload, one seeded preemption schedule (see _goodput.ts).
//
//   node --import tsx test/bench/goodput.ts
//   knobs: BENCH_T (mean seconds between disruptions, 20), BENCH_N (checkpoint every N steps, 100),
//          BENCH_SEED (random when unset; printed), BENCH_STEPS (600), BENCH_HIDDEN (64),
//          BENCH_RECLAIM_SHARE (0.5), BENCH_NODES_PER_SYSTEM (8), BENCH_MAX_SECONDS (1800)
//   sweep: BENCH_SWEEP_T=40,20,10 BENCH_SWEEP_N=50,200 runs every pair, prints one row each and
//          draws goodput against T as a PNG (BENCH_PLOT, docs/goodput-sweep.png) with the figures
//          beside it as JSON. A second N runs as a fourth system (a Job + ckpt every N₂ steps)
//          in the same cluster under the same schedule; any further N is a run of the Job + ckpt
//          alone. resumable loses nothing to a graceful preemption and the Job without
//          checkpoints has none, so N changes neither's goodput, only the Job + ckpt's.
//          BENCH_SWEEP_KEEP=1 keeps the points of the JSON already there at the T values not run
//          now, when its seed, steps and workload are the same: a long T added to a sweep without
//          running the short ones again (the plot says which T was measured when).
//          BENCH_REDRAW=1 draws the PNG again from the JSON beside it, running nothing.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { median, table } from "./_util.js";
import { runGoodput, SYSTEMS, type GoodputResult, type System, type SystemResult } from "./_goodput.js";
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

/** What the sweep keeps beside its PNG: enough to draw it again. */
interface Figures { seed: number; steps: number; training: typeof training; points: Point[] }
const plot = process.env.BENCH_PLOT ?? "docs/goodput-sweep.png";
const figures = plot.replace(/\.png$/, ".json");
if (process.env.BENCH_REDRAW === "1") {
  drawSweep(JSON.parse(readFileSync(figures, "utf8")) as Figures);
  process.exit(0);
}

console.log(`goodput: T=${Ts.join(",")} s, N=${Ns.join(",")} steps, seed=${seed} (BENCH_SEED=${seed} reproduces the schedule), ${steps} steps of ${JSON.stringify(training)}`);
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
      nodesPerSystem: num("BENCH_NODES_PER_SYSTEM", 8), reclaimShare: num("BENCH_RECLAIM_SHARE", 0.5),
      maxSeconds: num("BENCH_MAX_SECONDS", 1800),
    });
    report(T, N, result);
    const by = Object.fromEntries(result.systems.map((s) => [s.system, s]));
    const cell = (s: SystemResult | undefined) => (s ? `${s.goodput.toFixed(3)}${s.completed ? "" : " (not done)"}` : "–");
    const ratio = by.resumable && by["job-ckpt"] ? by.resumable.wallSeconds / by["job-ckpt"].wallSeconds : "–";
    rows.push([T, N, cell(by.resumable), cell(by["job-ckpt"]), cell(by["job-none"]), ratio]);
    if (sparse !== undefined) rows.push([T, sparse, "–", cell(by["job-ckpt-sparse"]), "–", "–"]);
    for (const s of result.systems) {
      // The sparse Job is the Job + ckpt at another N: one line per (system, N) in the plot.
      points.push({ T, N: s.everySteps, system: s.system === "job-ckpt-sparse" ? "job-ckpt" : s.system, goodput: s.goodput, completed: s.completed, wallSeconds: s.wallSeconds, usefulSteps: s.usefulSteps, stepsComputed: s.stepsComputed, lostSteps: s.lostSteps, preemptions: s.preemptions, date: today });
    }
  }
}
if (rows.length > 1) {
  console.log(`\nSweep (goodput by steps; last column wall time resumable / Job+ckpt; "not done": given up at BENCH_MAX_SECONDS)\n`);
  console.log(table(["T s", "N", "resumable", "job+ckpt", "job, no ckpt", "wall ratio"], rows));
  keepEarlierPoints(figures);
  points.sort((a, b) => a.T - b.T);
  writeFileSync(figures, `${JSON.stringify({ seed, steps, training, points }, null, 1)}\n`);
  drawSweep({ seed, steps, training, points });
}

/**
 * Draws the sweep: one line per system, and per checkpoint interval for the Job + ckpt (N
 * changes neither resumable's goodput nor the checkpoint-less Job's, so theirs ignore it).
 */
function drawSweep({ seed, steps, training, points: all }: Figures): void {
  const names: Record<string, string> = { resumable: "resumable", "job-ckpt": "Job + ckpt", "job-none": "Job, no ckpt" };
  const intervals = [...new Set(all.filter((p) => p.system === "job-ckpt").map((p) => p.N))].sort((a, b) => a - b);
  const lines: PlotLine[] = [];
  for (const system of SYSTEMS) {
    for (const N of system === "job-ckpt" ? intervals : [undefined]) {
      const mine = all.filter((p) => p.system === system && (N === undefined || p.N === N));
      if (mine.length === 0) continue;
      lines.push({ label: N === undefined ? names[system]! : `${names[system]}, every ${N} steps`, points: mine });
    }
  }
  // Which T was measured when: a sweep grown with BENCH_SWEEP_KEEP mixes days.
  const byDate = new Map<string, Set<number>>();
  for (const p of all) byDate.set(p.date, (byDate.get(p.date) ?? new Set()).add(p.T));
  const when = [...byDate].map(([date, Ts]) => `T = ${[...Ts].join(", ")} s on ${date}`).join("; ");
  const subtitle = `${steps} steps of the MNIST mlp (${training.hiddenUnits} hidden, cpu), seed ${seed}, half node reclaims, half evictions\nmeasured ${when}`;
  writeFileSync(plot, goodputPng(lines, "Goodput under spot preemptions: resumable vs a Job", subtitle));
  console.log(`\nplot: ${plot} (figures: ${figures})`);
}

/** With BENCH_SWEEP_KEEP=1, adds the earlier figures at the T values not run now. */
function keepEarlierPoints(json: string): void {
  if (process.env.BENCH_SWEEP_KEEP !== "1" || !existsSync(json)) return;
  const earlier = JSON.parse(readFileSync(json, "utf8")) as Figures;
  if (earlier.seed !== seed || earlier.steps !== steps || JSON.stringify(earlier.training) !== JSON.stringify(training)) {
    console.log(`BENCH_SWEEP_KEEP: ${json} is of another seed or workload; its points are not kept`);
    return;
  }
  const mine = new Set(points.map((p) => p.T));
  const kept = earlier.points.filter((p) => !mine.has(p.T));
  points.push(...kept);
  console.log(`BENCH_SWEEP_KEEP: kept ${kept.length} points at T = ${[...new Set(kept.map((p) => p.T))].join(", ")} s from ${json}`);
}

function report(T: number, N: number, r: GoodputResult): void {
  console.log(`\nT=${T} s, N=${N}, seed=${seed}: ${r.schedule.length} disruptions scheduled; uninterrupted twin sha ${r.twinSha256.slice(0, 12)}\n`);
  const row = (s: SystemResult) => [
    s.system, s.completed ? "yes" : "NO", s.wallSeconds, s.stepsComputed, s.usefulSteps, s.goodput, s.lostSteps, s.preemptions,
    s.lostSteps / Math.max(1, s.preemptions),
    s.recoverySeconds.length ? median(s.recoverySeconds) : "-",
    s.weightsSha256 ? `${s.weightsSha256.slice(0, 12)}${s.weightsSha256 === r.twinSha256 ? " (= twin)" : " (≠ twin)"}` : "-",
  ];
  console.log(table(["system", "done", "wall s", "steps computed", "useful", "goodput", "lost", "preemptions", "lost/preemption", "recovery p50 s", "weights sha"], r.systems.map(row)));
  const by = Object.fromEntries(r.systems.map((s) => [s.system, s]));
  const [res, job] = [by.resumable, by["job-ckpt"]];
  if (res && job) {
    console.log(`\n${table(["ratio resumable / Job+ckpt", "value", "goal"], [
      ["wall time", res.wallSeconds / job.wallSeconds, "< 1"],
      ["goodput", res.goodput / Math.max(job.goodput, 1e-9), "≥ 1"],
      ["lost steps per preemption (resumable)", res.lostSteps / Math.max(1, res.preemptions), "0"],
    ])}`);
  }
  console.log(`operator's resumable_goodput_ratio (time-based, its own formula): ${r.operatorGoodput ?? "not read"}; the benchmark's (steps): ${res?.goodput.toFixed(3)}`);
}
