/**
 * Each way a run can fail, as the operator sees it: its own exit code and summary
 * failure.kind, and never a silent start from step 0.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { sealManifest, type Manifest } from "../../trainer/src/checkpoint/manifest.js";
import { checkpointDirName } from "../../trainer/src/checkpoint/layout.js";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { loadDataset } from "../../trainer/src/data/dataset.js";
import { DivergedError } from "../../trainer/src/train/errors.js";
import { TrainingSession } from "../../trainer/src/train/session.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { runToEnd, tempDir, tinyConfig } from "./helpers/trainer-process.js";

test("checkpoint storage that cannot be used: exit 4, failure kind storage naming the path and errno", async () => {
  const root = await tempDir();
  const dir = join(root, "ckpt");
  await writeFile(dir, "a file where the checkpoint directory should be");
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 6 }), checkpointDir: dir, attempt: 1 });
  assert.equal(result.code, 4, result.stderr);
  const failure = result.summary?.failure as { kind: string; path: string; code: string; message: string };
  assert.equal(failure.kind, "storage");
  assert.match(failure.code, /^E[A-Z]+$/);
  assert.ok(failure.path.startsWith(dir), failure.path);
  assert.equal(result.summary?.error, failure.message, "error keeps the same text");
});

test("checkpoints exist but none loads: exit 5 (no silent start from 0); RESUMABLE_ALLOW_FRESH_START=true starts fresh", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 1 })).code, 0);
  for (const c of await store(dir).list()) await writeFile(join(c.path, "model.safetensors"), "garbage");
  const refused = await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 2 });
  assert.equal(refused.code, 5, refused.stderr);
  assert.equal((refused.summary?.failure as { kind: string }).kind, "checkpointsUnusable");
  assert.match(refused.summary?.error as string, /none loads/);
  assert.ok((await readdir(join(dir, "quarantine"))).length > 0, "set aside, not deleted");

  const again = await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 3 });
  assert.equal(again.code, 5, "still refused on the next attempt: the quarantine remembers");

  const allowed = await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 4, env: { RESUMABLE_ALLOW_FRESH_START: "true" } });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(allowed.summary?.resumedFromStep, null);
});

test("a checkpoint the model cannot restore (valid files, wrong tensors) is quarantined and the previous one used", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 10, checkpoint: { everySteps: 5, everySeconds: 0, keep: 3 } }), checkpointDir: dir, attempt: 1 })).code, 0);
  const newest = (await store(dir).list())[0]!;
  const config = JSON.parse(await readFile(join(newest.path, "manifest.json"), "utf8")).config;
  // Step 11 by attempt 1, with this run's config but tensors of another model.
  const wrong = fakeSnapshot(11);
  wrong.meta.config = config;
  await store(dir).save(wrong, 1);
  assert.equal((await store(dir).list())[0]!.path, join(dir, checkpointDirName(11, 1)));

  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 2 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.summary?.resumedFromStep, 10, "fell back to the previous checkpoint, no crash loop");
  assert.match((await readdir(join(dir, "quarantine")))[0]!, /^ckpt-00000011-a1-/);
});

test("a flipped createdAt in the newest manifest falls back to the previous checkpoint instead of crashing", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 1 })).code, 0);
  const newest = (await store(dir).list())[0]!;
  const path = join(newest.path, "manifest.json");
  const manifest = JSON.parse(await readFile(path, "utf8"));
  manifest.createdAt = "2026-1x-30T12:00:00.000Z";
  await writeFile(path, JSON.stringify(sealManifest(manifest)));
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 2 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.summary?.resumedFromStep, 5);
});

test("a loss that turns NaN ends the attempt: exit 6, failure kind diverged, nothing non-finite committed", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: dir, attempt: 1 })).code, 0);
  // The newest checkpoint's weights replaced by huge finite values (files valid, and finite, so
  // the load takes them): the first step's activations overflow and its loss is not finite.
  const newest = await store(dir).load((await store(dir).list())[0]!.path);
  const { formatVersion: _v, files: _f, createdAt: _c, attempt: _a, claim: _k, digest: _d, ...meta } = newest.manifest as Manifest & { claim: unknown; digest: unknown };
  const poisoned = { weights: newest.weights.map((w) => ({ ...w, data: new Float32Array(w.data.length).fill(3e38) })), optimizerTensors: newest.optimizerTensors, meta };
  await store(dir).save(poisoned as never, 1);
  const before = (await readdir(dir)).sort();

  const result = await runToEnd({ config: tinyConfig({ totalSteps: 20 }), checkpointDir: dir, attempt: 2 });
  assert.equal(result.code, 6, result.stderr);
  const failure = result.summary?.failure as { kind: string; message: string };
  assert.equal(failure.kind, "diverged");
  assert.match(failure.message, /loss is (NaN|-?Infinity) at step 11/);
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith("ckpt-")).sort(), before.filter((e) => e.startsWith("ckpt-")), "nothing committed");
});

test("a snapshot of non-finite weights is refused, so no such checkpoint is ever committed", async () => {
  const config = trainingConfigSchema.parse(tinyConfig());
  const session = new TrainingSession(config, await loadDataset(config), "cpu");
  session.model.setWeights(session.model.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, Number.POSITIVE_INFINITY) : w)));
  await assert.rejects(session.snapshot("periodic"), DivergedError);
  await assert.rejects(session.snapshot("final"), /hidden\/kernel holds NaN or infinite values/);
});
