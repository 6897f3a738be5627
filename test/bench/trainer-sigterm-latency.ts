/**
 * SIGTERM-to-exit latency of the real CLI at 1, 64 and 512 MiB of weights: from the signal to
 * the process's exit, which is the wait for the step boundary (a step is never cut short)
 * plus the flush: final checkpoint, summary, exit. The flush is held against the goal of 1 s
 * plus the time dd conv=fsync takes for the same bytes on the same disk, measured in this run.
 * A GKE spot node gives a pod about 15 s.
 *   node --import tsx test/bench/trainer-sigterm-latency.ts
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { pixels } from "../../trainer/src/data/dataset.js";
import { startTrainer, tempDir } from "../trainer/helpers/trainer-process.js";
import { ddSeconds, MiB, settleDisk, table } from "./_util.js";

const sizesMiB = (process.env.BENCH_SIZES_MIB ?? "1,64,512").split(",").map(Number);
const rows: (string | number)[][] = [];

for (const size of sizesMiB) {
  // mlp weights: 784*h + h + 10*h + 10 floats.
  const hiddenUnits = Math.max(1, Math.round((size * MiB) / 4 / (pixels + 11)));
  const root = await tempDir("trainer-bench-");
  const dir = join(root, "ckpt");
  try {
    const trainer = await startTrainer({
      config: {
        model: "mlp", hiddenUnits, dataset: "synthetic", syntheticExamples: 64, batchSize: 1, totalSteps: 1_000_000,
        optimizer: "sgd", backend: "cpu", seed: 1, checkpoint: { everySteps: 0, everySeconds: 0, keep: 1 },
      },
      checkpointDir: dir,
      attempt: 1,
    });
    const first = await trainer.waitFor((l) => l.msg === "step" && (l.step as number) >= 2);
    const second = await trainer.waitFor((l) => l.msg === "step" && (l.step as number) >= 3);
    settleDisk();
    const signalled = Date.now(); // the clock of the trainer's log timestamps
    trainer.kill("SIGTERM");
    const result = await trainer.done;
    const latency = (Date.now() - signalled) / 1000;
    const boundary = result.lines.find((l) => l.msg === "stop requested: writing the final checkpoint")!;
    const boundaryWait = ((boundary.time as number) - signalled) / 1000;
    if (result.code !== 143) throw new Error(`exit ${result.code}: ${result.stderr}`);
    const ckpt = result.summary!.checkpoint as { path: string; bytes: number; saveSeconds: number };
    const dd = ddSeconds(join(ckpt.path, "model.safetensors"), root);
    const goal = 1 + dd;
    const flush = latency - boundaryWait;
    rows.push([`${size} MiB`, ((second.time as number) - (first.time as number)) / 1000, boundaryWait, ckpt.saveSeconds, flush, latency, dd, goal, flush / goal]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
console.log("SIGTERM-to-exit latency of resumable-trainer (cpu backend, SGD, batch 1), against 1 s + dd conv=fsync of the same bytes.");
console.log("A step is never cut short: the latency is the wait for the step boundary (up to one step) plus the flush (final save, summary, exit).");
console.log(table(["weights", "step s", "boundary wait s", "final save s", "flush s", "latency s", "dd s", "goal s", "flush/goal (<= 1)"], rows));
