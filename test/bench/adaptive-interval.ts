/**
 * everySteps: 100, everySteps: 10 and "auto" side by side, checkpoints off as the baseline: the
 * trainer as host processes, one seeded schedule of hard losses (SIGKILL, no flush) and graceful
 * reclaims (SIGTERM, the final save) played on every system at the same steps. Twice: the MNIST
 * MLP (128 hidden, 0.10 M parameters) and one 10× larger (1280 hidden, 1.02 M), on synthetic
 * MNIST-shaped data. For each: lost steps per hard loss, throughput overhead against
 * checkpoints off, wall time to completion, and the interval "auto" chose over time.
 * Goal (issue #25): at most max(10 steps, 5 s of training) lost per hard loss at <= 2 % overhead.
 * "auto" is handed the schedule's hard-loss rate, as the operator would hand the pool's.
 * Knobs: BENCH_SEED (random when unset; printed), BENCH_SECONDS (20: a run's length without
 * disruptions), BENCH_DISRUPTIONS (4), BENCH_BACKEND (wasm).
 *   node --import tsx test/bench/adaptive-interval.ts
 */
import { loadavg } from "node:os";
import { disruptionSchedule, runSystem, type SystemResult } from "./_adaptive-interval.js";
import { median, table } from "./_util.js";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const seed = num("BENCH_SEED", Math.floor(Math.random() * 2 ** 31));
const targetSeconds = num("BENCH_SECONDS", 20);
const disruptions = num("BENCH_DISRUPTIONS", 4);
const backend = process.env.BENCH_BACKEND ?? "wasm";
const GOAL = { lostSteps: 10, lostSeconds: 5, overhead: 0.02 };

const models = [
  { label: "MLP 128 hidden (0.10 M params)", hiddenUnits: 128 },
  { label: "MLP 1280 hidden (1.02 M params, 10x)", hiddenUnits: 1280 },
];

const base = (hiddenUnits: number, totalSteps: number, checkpoint: Record<string, unknown>) => ({
  model: "mlp", hiddenUnits, dataset: "synthetic", syntheticExamples: 2048, batchSize: 64, optimizer: "adam",
  seed: 7, backend, totalSteps, checkpoint: { everySeconds: 0, keep: 2, ...checkpoint },
});

/** Median and longest of the steps the periodic saves spanned, snapshot to commit. */
function spans(steps: number[]): string {
  return steps.length === 0 ? "-" : `${median(steps)}/${Math.max(...steps)}`;
}

console.log(`adaptive interval side by side: seed=${seed} (BENCH_SEED reproduces the schedule), ${backend} backend, ${disruptions} disruptions per run, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
for (const { label, hiddenUnits } of models) {
  // The step rate decides how many steps make BENCH_SECONDS; a short undisturbed run measures it.
  const probe = await runSystem("probe", base(hiddenUnits, 150, { everySteps: 0 }), []);
  const totalSteps = Math.round(probe.stepsPerSecond * targetSeconds);
  const schedule = disruptionSchedule(seed, totalSteps, disruptions);
  const off = await runSystem("off", base(hiddenUnits, totalSteps, { everySteps: 0 }), schedule);
  const hardPerHour = (schedule.filter((d) => d.kind === "hard").length / (totalSteps / off.stepsPerSecond)) * 3600;
  const results: SystemResult[] = [off];
  results.push(await runSystem("every 100", base(hiddenUnits, totalSteps, { everySteps: 100 }), schedule));
  results.push(await runSystem("every 10", base(hiddenUnits, totalSteps, { everySteps: 10 }), schedule));
  results.push(await runSystem("auto", base(hiddenUnits, totalSteps, { everySteps: "auto" }), schedule, { RESUMABLE_DISRUPTIONS_PER_HOUR: hardPerHour.toFixed(1) }));

  const goalSteps = Math.max(GOAL.lostSteps, Math.floor(GOAL.lostSeconds * off.stepsPerSecond));
  console.log(`\n${label}: ${totalSteps} steps, ${off.stepsPerSecond.toFixed(1)} steps/s with checkpoints off; schedule ${schedule.map((d) => `${d.kind}@${d.atStep}`).join(" ")}; auto told ${hardPerHour.toFixed(0)} hard losses/h`);
  console.log(`goal per hard loss: max(10 steps, 5 s = ${Math.floor(GOAL.lostSeconds * off.stepsPerSecond)} steps) = ${goalSteps} steps, overhead <= 2 %`);
  console.log(table(
    ["checkpoints", "lost/hard loss", "worst / goal", "lost/graceful", "steps/s", "overhead", "overhead / goal", "stall share", "stall / goal", "wall s", "attempts", "saves", "save spans (steps, median/max)", "same weights as off"],
    results.map((r) => {
      const worst = Math.max(0, ...r.lostPerHardLoss);
      const overhead = off.stepsPerSecond / r.stepsPerSecond - 1;
      return [
        r.name, r.lostPerHardLoss.join(","), worst / goalSteps, r.lostPerGraceful.join(","), r.stepsPerSecond,
        `${(overhead * 100).toFixed(2)} %`, r === off ? "-" : overhead / GOAL.overhead,
        `${(r.stallShare * 100).toFixed(2)} %`, r.stallShare / GOAL.overhead, r.wallSeconds, r.attempts, r.saves, spans(r.saveSpans),
        r.weightsSha256 !== undefined && r.weightsSha256 === off.weightsSha256 ? "yes" : "no",
      ];
    }),
  ));
  const auto = results.at(-1)!;
  console.log(`auto's interval over time (s since start: steps, deciding bound, stall share, promised worst loss):`);
  console.log(auto.intervals.map((i) => `  ${i.atSeconds.toFixed(1)} s: ${i.steps} steps (${i.bound}, ${(i.overhead * 100).toFixed(2)} %, <= ${i.lostSteps} lost)`).join("\n"));
}
console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}. Overheads are throughput ratios between separate runs: on a shared machine they swing by a few %; the stall share is what saves held training, summed from the trainers' own records.`);
