import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runToEnd, startTrainer, tempDir, tinyConfig } from "./helpers/trainer-process.js";

test("auto: without tfjs-node it logs the fallback and trains a dense model on wasm", async () => {
  const result = await runToEnd({ config: tinyConfig({ backend: "auto", totalSteps: 10 }), checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.summary?.backend, "wasm");
  assert.ok(result.lines.some((l) => l.msg === "native backend not available" && l.package === "@tensorflow/tfjs-node-gpu"));
});

test("auto picks cpu for the cnn (wasm lacks conv backprop); an absent tensorflow falls back, logged", async () => {
  const cnn = await runToEnd({ config: tinyConfig({ backend: "auto", model: "cnn", totalSteps: 2, batchSize: 4 }), checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(cnn.code, 0, cnn.stderr);
  assert.equal(cnn.summary?.backend, "cpu");
  const tensorflow = await runToEnd({ config: tinyConfig({ backend: "tensorflow", totalSteps: 2 }), checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(tensorflow.code, 0, tensorflow.stderr);
  assert.ok(tensorflow.lines.some((l) => l.msg?.startsWith("backend tensorflow requested but")));
});

test("wasm keeps the determinism promise on one machine: resumed after SIGTERM, same weights", async () => {
  const config = tinyConfig({ backend: "wasm", totalSteps: 40 });
  const reference = await runToEnd({ config, checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(reference.code, 0, reference.stderr);
  const dir = join(await tempDir(), "ckpt");
  const first = await startTrainer({ config, checkpointDir: dir, attempt: 1 });
  await first.waitFor((l) => l.msg === "step" && (l.step as number) >= 17);
  first.kill("SIGTERM");
  assert.equal((await first.done).code, 143);
  const resumed = await runToEnd({ config, checkpointDir: dir, attempt: 2 });
  assert.equal(resumed.code, 0);
  assert.equal(resumed.summary?.weightsSha256, reference.summary?.weightsSha256);
});
