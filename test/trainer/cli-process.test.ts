/** The CLI as the operator sees it: real processes, real signals, exit codes, summaries, files. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { DirectoryBackend } from "../../trainer/src/checkpoint/backends/directory/directory.js";
import { directoryFenceStorage } from "../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { Fence } from "../../trainer/src/checkpoint/fence.js";
import { CheckpointStore } from "../../trainer/src/checkpoint/store.js";
import { silentLog } from "./helpers/snapshots.js";
import { runToEnd, startTrainer, tempDir, tinyConfig, TrainerProcess } from "./helpers/trainer-process.js";

const loadStore = (dir: string) => new CheckpointStore({ backend: new DirectoryBackend({ dir, log: silentLog }), keep: 3, log: silentLog, fence: undefined });

test("completion: exit 0, final checkpoint, exported model, summary on stdout and in the termination log", async () => {
  const dir = join(await tempDir(), "ckpt");
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 1 });
  assert.equal(result.code, 0, result.stderr);
  const summary = result.summary!;
  assert.equal(summary.reason, "completed");
  assert.equal(summary.step, 12);
  assert.equal(summary.resumedFromStep, null);
  assert.equal(summary.backend, "cpu");
  assert.match(summary.weightsSha256 as string, /^[0-9a-f]{64}$/);
  const accuracy = summary.accuracy as number;
  assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy} is a share`);
  assert.deepEqual(JSON.parse(await readFile(join(dirname(dir), "termination-log"), "utf8")), summary);
  const ckpt = summary.checkpoint as { step: number; path: string; bytes: number };
  assert.equal(ckpt.step, 12);
  assert.equal((await loadStore(dir).load(ckpt.path)).manifest.kind, "final");

  const modelJson = JSON.parse(await readFile(join(dir, "model", "model.json"), "utf8"));
  const weights = await readFile(join(dir, "model", "weights.bin"));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }),
  );
  assert.deepEqual(model.outputs[0]!.shape, [null, 10]);

  const again = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 2 });
  assert.equal(again.code, 0, "a finished run started again completes at once");
  assert.equal(again.summary!.resumedFromStep, 12);
  assert.equal(again.summary!.weightsSha256, summary.weightsSha256);
  assert.equal(again.summary!.accuracy, accuracy, "the same weights score the same");
  assert.deepEqual(again.summary!.checkpoint, { ...ckpt, saveSeconds: 0 }, "the checkpoint it resumed from, same size");
});

test("SIGTERM before the first step: exit 143 with a final checkpoint at step 0", async () => {
  const dir = join(await tempDir(), "ckpt");
  // mnist: loading its 10k digits keeps the trainer in start-up well after the backend line.
  const trainer = await startTrainer({ config: tinyConfig({ dataset: "mnist" }), checkpointDir: dir, attempt: 1 });
  await trainer.waitFor((l) => l.msg === "backend selected");
  trainer.kill("SIGTERM");
  const result = await trainer.done;
  assert.equal(result.code, 143, result.stderr);
  assert.equal(result.summary?.reason, "preempted");
  assert.equal(result.summary?.step, 0);
  assert.equal((result.summary?.checkpoint as { step: number }).step, 0);
  assert.equal((await loadStore(dir).loadNewestValid())?.manifest.step, 0);
});

test("SIGTERM while a background save is in flight: it commits, then the final one, then exit 143", async () => {
  const dir = join(await tempDir(), "ckpt");
  const trainer = await startTrainer({ config: tinyConfig({ totalSteps: 100000, hiddenUnits: 256 }), checkpointDir: dir, attempt: 1 });
  const started = await trainer.waitFor((l) => l.msg === "checkpoint save started");
  trainer.kill("SIGTERM");
  const result = await trainer.done;
  assert.equal(result.code, 143, result.stderr);
  const commits = result.lines.filter((l) => l.msg === "checkpoint committed");
  assert.equal(commits[0]?.step, started.step, "the in-flight save committed");
  const summary = result.summary!;
  assert.equal((summary.checkpoint as { step: number }).step, summary.step);
  assert.ok((summary.step as number) >= (started.step as number));
  const steps = (await loadStore(dir).list()).map((c) => c.step);
  assert.ok(steps.includes(started.step as number) && steps.includes(summary.step as number), `${steps}`);
});

test("an invalid config: exit 2, the field named, nothing written", async () => {
  const root = await tempDir();
  const dir = join(root, "ckpt");
  const result = await runToEnd({ config: { ...tinyConfig(), learningrate: 0.1, batchSize: 0 }, checkpointDir: dir, attempt: 1 });
  assert.equal(result.code, 2);
  const error = result.lines.find((l) => l.level === 50)?.msg ?? "";
  assert.match(error, /learningrate: unknown field/);
  assert.match(error, /batchSize: /);
  assert.equal(existsSync(dir), false, "no checkpoint dir");
  assert.equal(existsSync(join(root, "termination-log")), false, "no termination log");
});

test("resuming with a shape-changing config: exit 2 naming the field; the checkpoints are untouched", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 6 }), checkpointDir: dir, attempt: 1 })).code, 0);
  // The new attempt's claim adds a version of the fence; everything else stays.
  const unfenced = async () => (await readdir(dir)).filter((e) => !e.startsWith("fence")).sort();
  const before = await unfenced();
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12, hiddenUnits: 8 }), checkpointDir: dir, attempt: 2 });
  assert.equal(result.code, 2);
  assert.match(result.summary?.error as string, /config field hiddenUnits changed from 32 to 8/);
  assert.deepEqual(await unfenced(), before);
});

test("a changed learning rate is allowed on resume and logged", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 6 }), checkpointDir: dir, attempt: 1 })).code, 0);
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12, learningRate: 0.001 }), checkpointDir: dir, attempt: 2 });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.lines.find((l) => l.msg?.startsWith("config changed"))?.fields, ["learningRate", "totalSteps"]);
  assert.equal(result.summary?.resumedFromStep, 6);
});

test("--resume-from loads the named checkpoint", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 1 })).code, 0);
  const oldest = (await loadStore(dir).list()).at(-1)!;
  assert.ok(oldest.step < 12);
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 2, args: ["--resume-from", oldest.path] });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.summary?.resumedFromStep, oldest.step);

  const missing = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 3, args: ["--resume-from", join(dir, "nope")] });
  assert.equal(missing.code, 2, "a --resume-from that does not load is a usage error");
  assert.match(missing.summary?.error as string, /--resume-from .*nope/);
});

test("fenced at start: a newer attempt owns the directory, exit 3, nothing committed", async () => {
  const dir = join(await tempDir(), "ckpt");
  assert.equal((await runToEnd({ config: tinyConfig({ totalSteps: 6 }), checkpointDir: dir, attempt: 5 })).code, 0);
  const before = (await readdir(dir)).sort();
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 12 }), checkpointDir: dir, attempt: 4 });
  assert.equal(result.code, 3);
  assert.equal(result.summary?.reason, "failed");
  assert.deepEqual((await readdir(dir)).sort(), before);
});

test("a zombie: once a newer attempt claims the directory, the running older one refuses to commit and exits 3", async () => {
  const dir = join(await tempDir(), "ckpt");
  const zombie = await startTrainer({ config: tinyConfig({ totalSteps: 100000 }), checkpointDir: dir, attempt: 1 });
  await zombie.waitFor((l) => l.msg === "checkpoint committed");
  await new Fence(directoryFenceStorage(dir), 2).claim(null); // the successor's claim
  const claimed = Date.now();
  const result = await zombie.done;
  assert.equal(result.code, 3, result.stderr);
  assert.ok(result.lines.some((l) => l.msg?.startsWith("fenced")));
  // Only a save already past its fence check when the claim landed may still commit.
  const committedAfter = result.lines.filter((l) => l.msg === "checkpoint committed" && (l.time as number) > claimed);
  assert.ok(committedAfter.length <= 1, JSON.stringify(committedAfter));
});

test("SIGINT stops like SIGTERM: final checkpoint at the stop step, exit 143", async () => {
  const dir = join(await tempDir(), "ckpt");
  const trainer = await startTrainer({ config: tinyConfig({ totalSteps: 100000 }), checkpointDir: dir, attempt: 1 });
  await trainer.waitFor((l) => l.msg === "step" && (l.step as number) >= 7);
  trainer.kill("SIGINT");
  const result = await trainer.done;
  assert.equal(result.code, 143, result.stderr);
  assert.equal(result.summary?.reason, "preempted");
  assert.equal((await loadStore(dir).loadNewestValid())?.manifest.step, result.summary?.step);
  assert.ok(result.lines.some((l) => l.msg?.startsWith("signal received") && l.signal === "SIGINT"));
});

test("the config inline in RESUMABLE_CONFIG, as the operator passes it", async () => {
  const root = await tempDir();
  const trainer = new TrainerProcess([], {
    RESUMABLE_CHECKPOINT_DIR: join(root, "ckpt"),
    RESUMABLE_TERMINATION_LOG: join(root, "termination-log"),
    RESUMABLE_ATTEMPT: "1",
    RESUMABLE_CONFIG: "model: mlp\nhiddenUnits: 8\ndataset: synthetic\nsyntheticExamples: 64\ntotalSteps: 3\nbatchSize: 8\nbackend: cpu\n",
  });
  const result = await trainer.done;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.summary?.step, 3);
  const none = await new TrainerProcess([], { RESUMABLE_CHECKPOINT_DIR: join(root, "ckpt") }).done;
  assert.equal(none.code, 2);
  assert.match(none.lines.find((l) => l.level === 50)?.msg ?? "", /no config: pass --config FILE or set RESUMABLE_CONFIG/);
});
