/**
 * Training throughput with async checkpoints every N steps against none, the same model and
 * data, runs interleaved in this one benchmark so background load hits both alike.
 * Goal: overhead <= 2 % (CheckFreq reports <= 3.5 %).
 *   node --import tsx test/bench/trainer-async-overhead.ts
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startTrainer, tempDir, type LogLine } from "../trainer/helpers/trainer-process.js";
import { median, table } from "./trainer-bench-util.js";

const everySteps = Number(process.env.BENCH_EVERY_STEPS ?? 50);
const totalSteps = Number(process.env.BENCH_STEPS ?? 600);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const base = {
  model: "mlp", hiddenUnits: 256, dataset: "synthetic", syntheticExamples: 2048, batchSize: 64, totalSteps,
  optimizer: "adam", backend: process.env.BENCH_BACKEND ?? "wasm", seed: 1,
};

/** Examples per second between the first and the last throughput log line (start-up excluded). */
async function throughput(everySteps: number): Promise<{ examplesPerSecond: number; saves: number; checkpointBytes: number }> {
  const root = await tempDir("trainer-bench-");
  try {
    const trainer = await startTrainer({
      config: { ...base, checkpoint: { everySteps, everySeconds: 0, keep: 3 } },
      checkpointDir: join(root, "ckpt"),
      attempt: 1,
      env: { LOG_LEVEL: "debug" },
    });
    const result = await trainer.done;
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    const marks = result.lines.filter((l): l is LogLine & { step: number; time: number } => l.msg === "training");
    const first = marks[0]!;
    const last = marks.at(-1)!;
    const commits = result.lines.filter((l) => l.msg === "checkpoint committed" && l.kind === "periodic");
    return {
      examplesPerSecond: ((last.step - first.step) * base.batchSize * 1000) / (last.time - first.time),
      saves: commits.length,
      checkpointBytes: (commits[0]?.bytes as number) ?? 0,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const none: number[] = [];
const withSaves: number[] = [];
let saves = 0;
let bytes = 0;
for (let i = 0; i < rounds; i++) {
  none.push((await throughput(0)).examplesPerSecond);
  const r = await throughput(everySteps);
  withSaves.push(r.examplesPerSecond);
  saves = r.saves;
  bytes = r.checkpointBytes;
}
const overhead = 1 - median(withSaves) / median(none);
console.log(`training throughput, ${base.backend} backend, mlp ${base.hiddenUnits} hidden + Adam, batch ${base.batchSize}, ${totalSteps} steps, median of ${rounds} interleaved runs`);
console.log(table(
  ["checkpoints", "examples/s", "saves", "ckpt bytes", "overhead (goal <= 2 %)"],
  [
    ["none", median(none), 0, 0, "-"],
    [`async every ${everySteps} steps`, median(withSaves), saves, bytes, `${(overhead * 100).toFixed(2)} %`],
  ],
));
