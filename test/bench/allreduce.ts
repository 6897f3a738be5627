/**
 * The gang's all-reduce: N = 1, 2, 4 ranks as separate processes on 127.0.0.1, each summing a
 * vector the size of the reference MLP's gradient (trainer/src/model/build.ts, default config),
 * ring against star, alternating which goes first. N = 1 (no network) is the baseline measured
 * in the same run. Knobs: BENCH_ROUNDS (timed all-reduces per gang), BENCH_REPEATS (gangs per
 * N and algorithm), BENCH_WARMUP.
 *   node --import tsx test/bench/allreduce.ts
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { encodePeers, ENV, GANG_ENV } from "@resumable/protocol";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { buildModel } from "../../trainer/src/model/build.js";
import { freePorts } from "../trainer/helpers/gang.js";
import { repoRoot, tempDir } from "../trainer/helpers/trainer-process.js";
import { median, table } from "./_util.js";

const rounds = Number(process.env.BENCH_ROUNDS ?? 50);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const warmup = Number(process.env.BENCH_WARMUP ?? 5);
const config = trainingConfigSchema.parse({ totalSteps: 1 });
await tf.setBackend("cpu");
const model = buildModel(config);
// The gradient the ranks sum: every trainable weight, plus the two control values of the design.
const floats = model.countParams() + 2;
model.dispose();
const dir = await tempDir("bench-allreduce-");

/** Median milliseconds per all-reduce on rank 0 of one gang of `worldSize` processes. */
async function gang(worldSize: number, algorithm: "ring" | "star", attempt: number): Promise<number> {
  const ports = await freePorts(worldSize);
  const peersFile = join(dir, `peers-${attempt}`);
  await writeFile(peersFile, encodePeers({ attempt, addresses: ports.map(() => "127.0.0.1") }));
  const outputs = await Promise.all(
    ports.map((_, rank) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/bench/_allreduce-rank.ts")], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "inherit"],
        env: {
          ...process.env,
          [GANG_ENV.rank]: String(rank), [GANG_ENV.worldSize]: String(worldSize), [GANG_ENV.peersFile]: peersFile,
          [ENV.attempt]: String(attempt), [ENV.run]: "bench",
          BENCH_PORTS: JSON.stringify(ports), BENCH_FLOATS: String(floats), BENCH_ROUNDS: String(rounds), BENCH_WARMUP: String(warmup), BENCH_ALGORITHM: algorithm,
        },
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`rank ${rank} of ${worldSize} exited ${code}: ${out}`))));
    })),
  );
  return median((JSON.parse(outputs[0]!.trim()) as { ms: number[] }).ms);
}

console.log(`all-reduce of ${floats} float32s (${(floats * 4 / 1024).toFixed(0)} KiB: the default mlp's gradient + 2 control values), ${rounds} rounds x ${repeats} gangs, median`);
const results = new Map<string, number[]>();
let attempt = 0;
for (let repeat = 0; repeat < repeats; repeat++) {
  for (const worldSize of [1, 2, 4]) {
    const order = (repeat + worldSize) % 2 === 0 ? (["ring", "star"] as const) : (["star", "ring"] as const);
    for (const algorithm of order) {
      const key = `${worldSize}/${algorithm}`;
      results.set(key, [...(results.get(key) ?? []), await gang(worldSize, algorithm, ++attempt)]);
    }
  }
}
const ms = (n: number, a: string) => median(results.get(`${n}/${a}`)!);
const base = ms(1, "ring");
console.log(table(
  ["ranks", "ring ms", "star ms", "ring / N=1", "star / N=1", "ring / star"],
  [1, 2, 4].map((n) => [n, ms(n, "ring"), ms(n, "star"), ms(n, "ring") / base, ms(n, "star") / base, ms(n, "ring") / ms(n, "star")]),
));
