/**
 * Checkpoint write throughput at 1, 64 and 512 MiB of weights against dd with fsync writing
 * the same number of bytes to the same disk, measured in this run. Goal: >= 0.8 of dd.
 *   node --import tsx test/bench/trainer-checkpoint-write.ts   (BENCH_DIR picks the disk; default the OS temp dir)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { DirectoryBackend } from "../../trainer/src/checkpoint/backends/directory/directory.js";
import { modelFile } from "../../trainer/src/checkpoint/manifest.js";
import type { TrainingSnapshot } from "../../trainer/src/checkpoint/snapshot.js";
import { CheckpointStore } from "../../trainer/src/checkpoint/store.js";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { ddSeconds, median, MiB, settleDisk, table } from "./_util.js";

const sizesMiB = (process.env.BENCH_SIZES_MIB ?? "1,64,512").split(",").map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "trainer-bench-"));

function snapshotOf(bytes: number, step: number): TrainingSnapshot {
  const data = new Float32Array(bytes / 4);
  for (let i = 0; i < data.length; i += 1024) data[i] = Math.sin(i); // not all zeros
  return {
    weights: [{ name: "hidden/kernel", dtype: "F32", shape: [data.length], data }],
    optimizerTensors: [],
    meta: {
      step, epoch: 0, positionInEpoch: 0, prngState: [1, 2, 3, 4], dropoutSeeds: "bench", lossHistory: [],
      config: trainingConfigSchema.parse({ totalSteps: 1 }), configHash: "bench", optimizer: { name: "sgd", iterations: step }, backend: "cpu", kind: "periodic",
    },
  };
}

const rows: (string | number)[][] = [];
try {
  for (const size of sizesMiB) {
    const dir = join(root, `size-${size}`);
    const log = pino({ level: "silent" });
    const store = new CheckpointStore({ backend: new DirectoryBackend({ dir, log }), keep: 1, log, fence: undefined });
    await store.prepare();
    const snapshot = snapshotOf(size * MiB, 0);
    const ours: number[] = [];
    const dd: number[] = [];
    let bytes = 0;
    for (let i = 0; i < repeats; i++) {
      snapshot.meta.step = i + 1;
      settleDisk();
      const c = await store.save(snapshot, undefined);
      ours.push(c.saveSeconds);
      bytes = (await stat(join(c.path, modelFile))).size;
      dd.push(ddSeconds(join(c.path, modelFile), dir));
    }
    // Throughput over the weights file: the manifest and empty optimizer file add a few KiB.
    const oursMBs = bytes / MiB / median(ours);
    const ddMBs = bytes / MiB / median(dd);
    rows.push([`${size} MiB`, median(ours), oursMBs, median(dd), ddMBs, oursMBs / ddMBs]);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(`checkpoint write vs dd conv=fsync, same bytes, same disk (${process.env.BENCH_DIR ?? tmpdir()}), median of ${repeats}`);
console.log(table(["weights", "ckpt s", "ckpt MiB/s", "dd s", "dd MiB/s", "ratio (goal >= 0.8)"], rows));
