import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { loadDataset } from "../../trainer/src/data/dataset.js";
import { captureOptimizer, captureWeights, restoreOptimizer, restoreWeights, weightNames } from "../../trainer/src/model/state.js";
import { TrainingSession } from "../../trainer/src/train/session.js";

const config = trainingConfigSchema.parse({ dataset: "synthetic", syntheticExamples: 64, hiddenUnits: 8, batchSize: 8, totalSteps: 50, backend: "cpu" });

before(async () => {
  await tf.setBackend("cpu");
});

test("weights and Adam state are stored under stable names, whatever tfjs numbered the variables", async () => {
  const data = await loadDataset(config);
  const a = new TrainingSession(config, data, "cpu");
  const b = new TrainingSession(config, data, "cpu"); // second model in this process: tfjs suffixes its variables
  assert.notDeepEqual(a.model.weights.map((w) => w.name), b.model.weights.map((w) => w.name));
  assert.deepEqual(weightNames(a.model), ["hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"]);
  assert.deepEqual(weightNames(b.model), weightNames(a.model));
  a.trainStep();
  const state = await captureOptimizer(a.model, a.optimizer);
  assert.equal(state.iterations, 1);
  assert.deepEqual(state.tensors.map((t) => t.name), [
    ...weightNames(a.model).map((n) => `${n}/m`),
    ...weightNames(a.model).map((n) => `${n}/v`),
    "adam/beta1_power",
    "adam/beta2_power",
  ]);
});

test("restored state continues exactly like the original: same losses step for step", async () => {
  const data = await loadDataset(config);
  const original = new TrainingSession(config, data, "cpu");
  for (let i = 0; i < 5; i++) original.trainStep();
  const snapshot = await original.snapshot("periodic");
  const copy = new TrainingSession(config, data, "cpu");
  await copy.restore({ path: "memory", manifest: { ...snapshot.meta, formatVersion: 1, files: {}, createdAt: "", attempt: null }, weights: snapshot.weights, optimizerTensors: snapshot.optimizerTensors, bytes: 0 });
  for (let i = 0; i < 10; i++) assert.equal(copy.trainStep(), original.trainStep());
  assert.deepEqual(captureWeights(copy.model).map((w) => [...w.data]), captureWeights(original.model).map((w) => [...w.data]));
});

test("restore refuses state whose names or shapes do not match the model", async () => {
  const data = await loadDataset(config);
  const s = new TrainingSession(config, data, "cpu");
  const weights = captureWeights(s.model);
  assert.throws(() => restoreWeights(s.model, [...weights].reverse()), /checkpoint has \[logits\/bias/);
  assert.throws(() => restoreWeights(s.model, weights.map((w, i) => (i === 0 ? { ...w, shape: [8, 784] } : w))), /hidden\/kernel: checkpoint shape/);
  s.trainStep();
  const opt = await captureOptimizer(s.model, s.optimizer);
  const renamed = opt.tensors.map((t, i) => (i === 0 ? { ...t, name: "other/kernel/m" } : t));
  await assert.rejects(restoreOptimizer(s.model, new TrainingSession(config, data, "cpu").optimizer, 1, renamed), /optimizer state do not match/);
  const lacksPower = opt.tensors.filter((t) => t.name !== "adam/beta2_power");
  await assert.rejects(restoreOptimizer(s.model, new TrainingSession(config, data, "cpu").optimizer, 1, lacksPower), /optimizer state do not match.*adam\/beta2_power/);
});

test("restore refuses a tensor of another dtype or a moment of another shape instead of converting it", async () => {
  const data = await loadDataset(config);
  const s = new TrainingSession(config, data, "cpu");
  const weights = captureWeights(s.model);
  const asInt = weights.map((w, i) => (i === 1 ? { ...w, dtype: "I32" as const, data: Int32Array.from(w.data) } : w));
  assert.throws(() => restoreWeights(s.model, asInt), /model weights: hidden\/bias is I32 in the checkpoint, expected F32/);
  s.trainStep();
  const opt = await captureOptimizer(s.model, s.optimizer);
  const reshaped = opt.tensors.map((t) => (t.name === "hidden/kernel/m" ? { ...t, shape: [...t.shape].reverse() } : t));
  await assert.rejects(restoreOptimizer(s.model, new TrainingSession(config, data, "cpu").optimizer, 1, reshaped), /optimizer state: hidden\/kernel\/m: checkpoint shape/);
  const intPower = opt.tensors.map((t) => (t.name === "adam/beta1_power" ? { ...t, dtype: "I32" as const, data: Int32Array.from(t.data) } : t));
  await assert.rejects(restoreOptimizer(s.model, new TrainingSession(config, data, "cpu").optimizer, 1, intPower), /adam\/beta1_power is I32/);
});

test("memory stays flat: the tensor count does not grow over steps and snapshots", async () => {
  const data = await loadDataset(config);
  const s = new TrainingSession(config, data, "cpu");
  for (let i = 0; i < 3; i++) s.trainStep(); // Adam creates its moments on the first step
  await s.snapshot("periodic");
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    s.trainStep();
    if (i % 5 === 0) await s.snapshot("periodic");
  }
  assert.equal(tf.memory().numTensors, before);
});
