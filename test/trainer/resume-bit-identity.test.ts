/**
 * The determinism promise: on the cpu backend, a run interrupted at random steps, by SIGTERM
 * or SIGKILL (also in the middle of a checkpoint write), and resumed each time, ends with the
 * same weightsSha256 as the uninterrupted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runToEnd, startTrainer, tempDir, testRandom, tinyConfig, type LogLine } from "./helpers/trainer-process.js";

type Interruption = "SIGTERM" | "SIGKILL" | "SIGKILL-mid-write";

async function interruptedRun(config: Record<string, unknown>, plan: Interruption[], seed: number) {
  const random = testRandom(seed);
  const dir = join(await tempDir(), "ckpt");
  const totalSteps = config.totalSteps as number;
  let attempt = 1;
  let resumedAt = 0;
  let debris = 0; // starts that found a checkpoint half-written by a killed predecessor
  for (const [i, kind] of plan.entries()) {
    const trainer = await startTrainer({ config, checkpointDir: dir, attempt });
    const ready = await trainer.waitFor((l) => l.msg === "resuming from checkpoint" || l.msg === "no valid checkpoint: starting fresh");
    resumedAt = typeof ready.step === "number" ? ready.step : 0;
    assert.ok(resumedAt < totalSteps, `attempt ${attempt} found the run complete: a signal landed after the last step`);
    // In an even share of what is left for the interruptions still to come, so that each leaves
    // the next one steps to land in. (Halving what was left did not: by the fifth, a few steps
    // remained, and a kill delayed by a loaded machine arrived after the final save.)
    const share = Math.floor((totalSteps - resumedAt) / (plan.length - i + 1));
    const target = resumedAt + 1 + random(Math.max(1, share));
    if (kind === "SIGKILL-mid-write") {
      // The first save started at or after the target step: killed while it is being written.
      await trainer.waitFor((l) => l.msg === "checkpoint save started" && (l.step as number) >= target);
      trainer.kill("SIGKILL");
    } else {
      await trainer.waitFor((l: LogLine) => l.msg === "step" && (l.step as number) >= target);
      trainer.kill(kind);
    }
    const result = await trainer.done;
    if (result.lines.some((l) => l.msg === "removed an incomplete checkpoint left by a crash")) debris += 1;
    if (kind === "SIGTERM") {
      assert.equal(result.code, 143, `SIGTERM exits 143; stderr: ${result.stderr}`);
      assert.equal(result.summary?.reason, "preempted");
      assert.ok((result.summary!.step as number) >= target, "stopped at a step boundary after the signal");
      assert.equal((result.summary!.checkpoint as { step: number }).step, result.summary!.step, "final checkpoint at the stop step");
    } else {
      assert.equal(result.signal, "SIGKILL");
    }
    attempt += 1;
  }
  const last = await runToEnd({ config, checkpointDir: dir, attempt });
  assert.equal(last.code, 0, last.stderr);
  assert.ok(typeof last.summary?.resumedFromStep === "number", "the last run resumed from a checkpoint");
  if (last.lines.some((l) => l.msg === "removed an incomplete checkpoint left by a crash")) debris += 1;
  return { summary: last.summary!, debris };
}

test("bit-identical weights after SIGTERM, SIGKILL and SIGKILL mid-write at random steps", async (t) => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
  t.diagnostic(`interruption points from seed ${seed} (rerun with TEST_SEED=${seed})`);
  // Slow steps (the delay changes no weight): a signal sent when a log line is read lands
  // within a step or two, however loaded the machine.
  const config = tinyConfig({ totalSteps: 120, stepDelayMs: 20 });
  const reference = await runToEnd({ config, checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(reference.code, 0, reference.stderr);
  assert.equal(reference.summary?.reason, "completed");

  const { summary: resumed, debris } = await interruptedRun(config, ["SIGTERM", "SIGKILL-mid-write", "SIGKILL", "SIGTERM", "SIGKILL-mid-write"], seed);
  t.diagnostic(`${debris} restarts found a half-written checkpoint left by a kill (evidence the kills landed mid-write)`);
  assert.equal(resumed.weightsSha256, reference.summary!.weightsSha256);
  assert.equal(resumed.loss, reference.summary!.loss);
  assert.equal(resumed.step, config.totalSteps);
});

test("bit-identical weights for the cnn with SGD across an epoch boundary", async (t) => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
  t.diagnostic(`interruption points from seed ${seed}`);
  const config = tinyConfig({ model: "cnn", optimizer: "sgd", totalSteps: 24, batchSize: 8, syntheticExamples: 64, checkpoint: { everySteps: 3, everySeconds: 0, keep: 2 } });
  const reference = await runToEnd({ config, checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(reference.code, 0, reference.stderr);
  const { summary: resumed } = await interruptedRun(config, ["SIGKILL", "SIGTERM"], seed);
  assert.equal(resumed.weightsSha256, reference.summary!.weightsSha256);
});
