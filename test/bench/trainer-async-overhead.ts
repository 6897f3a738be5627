/**
 * Training throughput with async checkpoints every N steps against none: one process, one
 * model at a time, segments of steps alternating with and without saves (ABBA order), so
 * background load and drift hit both alike. A segment with saves includes waiting for its last
 * save. Per save, what it costs: the stall (the snapshot of the tfjs variables to host memory,
 * the only part training waits for) and the background write (encode, hash, write, fsyncs,
 * rename), against the step it rides on. Each model twice: saves on the trainer's save thread (as
 * the trainer runs them) and on the training thread (as before it, the baseline). Two models: the MNIST MLP (128 hidden, every 100
 * steps) and one 10x larger (1280 hidden, every 10 steps: a 5 s goal is about 20 of its steps).
 * Knobs: BENCH_MODELS ("128:100:200,1280:10:20", hidden:everySteps:segmentSteps), BENCH_ROUNDS,
 * BENCH_BACKEND, BENCH_SAVES_ON ("save thread,training thread"). Goal: overhead <= 2 % (CheckFreq reports <= 3.5 %).
 *   node --import tsx test/bench/trainer-async-overhead.ts
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { selectBackend } from "../../trainer/src/backend/select.js";
import { DirectoryBackend } from "../../trainer/src/checkpoint/backends/directory/directory.js";
import { CheckpointStore } from "../../trainer/src/checkpoint/store.js";
import { SaveThread } from "../../trainer/src/checkpoint/save-thread/thread.js";
import { CheckpointWriter, type Saver } from "../../trainer/src/checkpoint/writer.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { loadDataset } from "../../trainer/src/data/dataset.js";
import { SaveSchedule, trainLoop } from "../../trainer/src/train/loop.js";
import { TrainingSession } from "../../trainer/src/train/session.js";
import { tempDir } from "../trainer/helpers/trainer-process.js";
import { median, table } from "./_util.js";

const models = (process.env.BENCH_MODELS ?? "128:100:200,1280:10:20").split(",").map((m) => {
  const [hidden, every, segment] = m.split(":").map(Number);
  if (!(hidden! > 0 && every! > 0 && segment! > 0)) throw new Error(`BENCH_MODELS: "${m}" is not hidden:everySteps:segmentSteps (three positive integers)`);
  return { hidden: hidden!, everySteps: every!, segmentSteps: segment! };
});
const savesOn = (process.env.BENCH_SAVES_ON ?? "save thread,training thread").split(",").map((p) => {
  if (p !== "save thread" && p !== "training thread") throw new Error(`BENCH_SAVES_ON: "${p}" is neither "save thread" nor "training thread"`);
  return p;
});
const rounds = Number(process.env.BENCH_ROUNDS ?? 12); // even: whole ABBA quads
const log = pino({ level: "silent" });
const root = await tempDir("trainer-bench-");
const percent = (x: number) => `${(x * 100).toFixed(2)} %`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
try {
  const perSave: (string | number)[][] = [];
  for (const { hidden, everySteps, segmentSteps } of models) for (const on of savesOn) {
    const config = trainingConfigSchema.parse({
      model: "mlp", hiddenUnits: hidden, dataset: "synthetic", syntheticExamples: 2048, batchSize: 64,
      totalSteps: 1, optimizer: "adam", backend: process.env.BENCH_BACKEND ?? "wasm", seed: 1,
    });
    const backend = await selectBackend(config, log);
    const session = new TrainingSession(config, await loadDataset(config), backend);
    const dir = join(root, `ckpt-${hidden}-${on.replace(" ", "-")}`);
    const store = new CheckpointStore({ backend: new DirectoryBackend({ dir, log }), keep: 3, log, fence: undefined });
    await store.prepare();
    const saver: Saver = on === "save thread" ? new SaveThread({ env: readEnv({ RESUMABLE_CHECKPOINT_DIR: dir }), keep: 3, logBindings: {}, logLevel: "silent" }, dir) : store;
    const writes: number[] = [];
    let bytes = 0;
    const writer = new CheckpointWriter(store, undefined, log, {
      onCommitted: (c) => (writes.push(c.saveSeconds), (bytes = c.bytes)),
      onFailed: () => {},
      isFatal: () => false,
    }, saver);
    const hooks = { shouldStop: () => false, onStep: () => {} };
    // The copy to host memory at the step boundary is the part of a save training waits for.
    const stalls: number[] = [];
    const takeSnapshot = session.snapshot.bind(session);
    session.snapshot = async (kind) => {
      const started = performance.now();
      const snapshot = await takeSnapshot(kind);
      stalls.push((performance.now() - started) / 1000);
      return snapshot;
    };

    await trainLoop(session, writer, undefined, session.step + segmentSteps, hooks); // warm-up: JIT, Adam's moments
    const seconds = { none: 0, async: 0 };
    const cpuSeconds = { none: 0, async: 0 };
    const quadRatios: number[] = []; // async/none time within each ABBA quad: drift cancels inside one
    let quad = { none: 0, async: 0 };
    for (let i = 0; i < rounds * 2; i++) {
      const mode = [0, 3].includes(i % 4) ? "none" : "async"; // ABBA
      // No save starts at a segment's last step: its write would be charged to the next segment.
      const end = session.step + segmentSteps;
      const schedule = mode === "async" ? new SaveSchedule(everySteps, 0, session.step, end) : undefined;
      const started = performance.now();
      const cpu = process.cpuUsage();
      await trainLoop(session, writer, schedule, end, hooks);
      await writer.drain();
      const wall = (performance.now() - started) / 1000;
      seconds[mode] += wall;
      quad[mode] += wall;
      if (i % 4 === 3) {
        quadRatios.push(quad.async / quad.none);
        quad = { none: 0, async: 0 };
      }
      const used = process.cpuUsage(cpu);
      cpuSeconds[mode] += (used.user + used.system) / 1e6;
    }
    const examples = rounds * segmentSteps * config.batchSize;
    const stepSeconds = seconds.none / (rounds * segmentSteps);
    await writer.close();
    console.log(`\nmlp ${hidden} hidden + Adam, ${backend} backend, saves on the ${on}, batch ${config.batchSize}; ${rounds} segments of ${segmentSteps} steps each way, ABBA`);
    console.log(table(
      ["checkpoints", "wall s", "examples/s", "process CPU s", "saves", "ckpt bytes"],
      [
        ["none", seconds.none, examples / seconds.none, cpuSeconds.none, 0, 0],
        [`async every ${everySteps} steps`, seconds.async, examples / seconds.async, cpuSeconds.async, writes.length, bytes],
      ],
    ));
    console.log(
      `overhead (goal <= 2 %): wall-clock ${percent(seconds.async / seconds.none - 1)} in total, ${percent(median(quadRatios) - 1)} median of ${quadRatios.length} ABBA quads; ` +
        `CPU time ${percent(cpuSeconds.async / cpuSeconds.none - 1)}`,
    );
    console.log(`training blocked by snapshots (copy to host memory at the step boundary): ${percent(mean(stalls) * stalls.length / seconds.async)} of the async segments' time`);
    perSave.push([`mlp ${hidden}, ${on}`, stepSeconds * 1000, mean(stalls) * 1000, median(stalls) * 1000, mean(stalls) / stepSeconds, mean(writes) * 1000, median(writes) * 1000, mean(writes) / stepSeconds, bytes]);
  }
  console.log("\nwhat one save costs: the stall (training waits) and the write (in the background), against a step");
  console.log(table(["model", "step ms", "stall ms", "stall median ms", "stall / step", "write ms", "write median ms", "write / step", "ckpt bytes"], perSave));
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}. On a shared machine the wall-clock and CPU figures swing by several % between runs; the stall is measured directly.`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
