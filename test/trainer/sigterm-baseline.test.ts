/**
 * RESUMABLE_SIGTERM=die: the trainer plays the benchmarks' baseline, a training script that
 * checkpoints every N steps and does not handle SIGTERM (test/bench/goodput.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { DirectoryBackend } from "../../trainer/src/checkpoint/backends/directory/directory.js";
import { CheckpointStore } from "../../trainer/src/checkpoint/store.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { silentLog } from "./helpers/snapshots.js";
import { runToEnd, startTrainer, tempDir, tinyConfig } from "./helpers/trainer-process.js";

/** A trainer that stops reacting fails the test instead of hanging the suite (not a duration goal). */
const HANG_GUARD = { timeout: 5 * 60_000 };

/** A long run in `mode`, checkpointing every `everySteps` steps into a fresh directory. */
async function startInMode(mode: string, everySteps: number) {
  const dir = join(await tempDir(), "ckpt");
  const trainer = await startTrainer({
    config: tinyConfig({ totalSteps: 100000, checkpoint: { everySteps, everySeconds: 0, keep: 3 } }),
    checkpointDir: dir,
    attempt: 1,
    env: { RESUMABLE_SIGTERM: mode },
  });
  return { dir, trainer };
}

test("RESUMABLE_SIGTERM=die: SIGTERM kills the process at once; only the periodic checkpoints remain", HANG_GUARD, async () => {
  const { dir, trainer } = await startInMode("die", 7);
  await trainer.waitFor((l) => l.msg === "checkpoint committed");
  await trainer.waitFor((l) => l.msg === "step" && (l.step ?? 0) % 7 === 3);
  trainer.kill("SIGTERM");
  const result = await trainer.done;
  assert.equal(result.signal, "SIGTERM", "died of the signal (a pod reports 128+15 = 143)");
  assert.equal(result.summary, undefined, "no summary: nothing ran after the signal");
  assert.equal(result.lines.some((l) => l.msg === "signal received: stopping at the next step boundary"), false);
  const store = new CheckpointStore({ backend: new DirectoryBackend({ dir, log: silentLog }), keep: 3, log: silentLog, fence: undefined });
  const listed = await store.list();
  const kinds = await Promise.all(listed.map(async (c) => (await store.load(c.path)).manifest.kind));
  assert.ok(listed.length > 0 && listed.every((c) => c.step % 7 === 0), `checkpoints every 7 steps: ${listed.map((c) => c.step)}`);
  assert.deepEqual(new Set(kinds), new Set(["periodic"]), "no final checkpoint");
});

test("RESUMABLE_SIGTERM=flush (the default) still ends in a final checkpoint and exit 143", HANG_GUARD, async () => {
  const { trainer } = await startInMode("flush", 1000);
  await trainer.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= 3);
  trainer.kill("SIGTERM");
  const result = await trainer.done;
  assert.equal(result.code, 143, result.stderr);
  assert.equal(result.summary?.reason, "preempted");
  assert.equal((result.summary?.checkpoint as { step: number }).step, result.summary?.step);
});

test("an unknown RESUMABLE_SIGTERM value is a config error naming the variable and its values", async () => {
  assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_SIGTERM: "ignore" }), /RESUMABLE_SIGTERM="ignore": expected flush or die/);
  assert.equal(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c" }).sigterm, "flush");
  const result = await runToEnd({ config: tinyConfig(), checkpointDir: join(await tempDir(), "ckpt"), env: { RESUMABLE_SIGTERM: "ignore" } });
  assert.equal(result.code, 2);
});
