// Goodput side by side: resumable vs a Job with podFailurePolicy and periodic checkpoints vs a
// Job without checkpoints, one workload, one seeded preemption schedule (see _goodput.ts).
//
//   node --import tsx test/bench/goodput.ts
//   knobs: BENCH_T (mean seconds between disruptions, 20), BENCH_N (checkpoint every N steps, 100),
//          BENCH_SEED (random when unset; printed), BENCH_STEPS (600), BENCH_HIDDEN (64),
//          BENCH_RECLAIM_SHARE (0.5), BENCH_NODES_PER_SYSTEM (8), BENCH_MAX_SECONDS (1800)
//   sweep: BENCH_SWEEP_T=40,20,10 BENCH_SWEEP_N=50,200 runs every pair and prints one row each.
import { median, table } from "./_util.js";
import { runGoodput, type GoodputResult, type SystemResult } from "./_goodput.js";

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const list = (name: string, fallback: number) => (process.env[name] ? process.env[name]!.split(",").map(Number) : [fallback]);
const seed = num("BENCH_SEED", Math.floor(Math.random() * 2 ** 31));
const steps = num("BENCH_STEPS", 600);
const training = {
  model: "mlp", hiddenUnits: num("BENCH_HIDDEN", 64), dataset: "mnist", totalSteps: steps, batchSize: 32, seed: 7, backend: "cpu",
};
const Ts = list("BENCH_SWEEP_T", num("BENCH_T", 20));
const Ns = list("BENCH_SWEEP_N", num("BENCH_N", 100));
console.log(`goodput: T=${Ts.join(",")} s, N=${Ns.join(",")} steps, seed=${seed} (BENCH_SEED=${seed} reproduces the schedule), ${steps} steps of ${JSON.stringify(training)}`);

const rows: (string | number)[][] = [];
for (const T of Ts) {
  for (const N of Ns) {
    const result = await runGoodput({
      meanIntervalSeconds: T, everySteps: N, seed, training,
      nodesPerSystem: num("BENCH_NODES_PER_SYSTEM", 8), reclaimShare: num("BENCH_RECLAIM_SHARE", 0.5),
      maxSeconds: num("BENCH_MAX_SECONDS", 1800),
    });
    report(T, N, result);
    const by = Object.fromEntries(result.systems.map((s) => [s.system, s]));
    rows.push([T, N, ...result.systems.map((s) => s.goodput), by.resumable!.wallSeconds / by["job-ckpt"]!.wallSeconds]);
  }
}
if (rows.length > 1) {
  console.log(`\nSweep (goodput by steps; last column wall time resumable / Job+ckpt)\n`);
  console.log(table(["T s", "N", "resumable", "job+ckpt", "job, no ckpt", "wall ratio"], rows));
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
