// A periodic snapshot is taken at a step boundary and written while training goes on: its host
// arrays must never be the backend's own storage, on the cpu backend (which hands that out) or
// on wasm (whose read-out is already a copy, so the trainer does not copy again). And the
// finiteness check every save runs reads float32 bits: it must agree with Number.isFinite.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { loadDataset } from "../../trainer/src/data/dataset.js";
import { allFinite, captureWeights } from "../../trainer/src/model/state.js";
import { TrainingSession } from "../../trainer/src/train/session.js";
import { testRandom } from "./helpers/trainer-process.js";

for (const backend of ["cpu", "wasm"] as const) {
  test(`on the ${backend} backend, a periodic snapshot keeps the values of its step while training goes on`, async () => {
    assert.ok(await tf.setBackend(backend), `the ${backend} backend initialises`);
    const config = trainingConfigSchema.parse({ dataset: "synthetic", syntheticExamples: 64, hiddenUnits: 8, batchSize: 8, totalSteps: 50, backend });
    const session = new TrainingSession(config, await loadDataset(config), backend);
    for (let i = 0; i < 3; i++) session.trainStep();
    const snapshot = await session.snapshot("periodic");
    const atSnapshot = [...snapshot.weights, ...snapshot.optimizerTensors].map((t) => Array.from(t.data));
    for (let i = 0; i < 3; i++) session.trainStep();
    assert.deepEqual([...snapshot.weights, ...snapshot.optimizerTensors].map((t) => Array.from(t.data)), atSnapshot, "three more steps left the snapshot as it was");
    assert.notDeepEqual(captureWeights(session.model).map((t) => Array.from(t.data)), atSnapshot.slice(0, snapshot.weights.length), "the model itself moved on");
  });
}

test("allFinite agrees with Number.isFinite on every kind of float32: NaNs, infinities, subnormals, zeros, extremes and seeded random bit patterns", (t) => {
  const seed = Date.now() % 2 ** 31;
  t.diagnostic(`seed ${seed}`);
  const random = testRandom(seed);
  const special = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1.17549435e-38, 3.4028234e38, -3.4028234e38, 1, -1];
  const bits = new Uint32Array(4096);
  for (let i = 0; i < bits.length; i++) bits[i] = ((random(0x10000) << 16) | random(0x10000)) >>> 0;
  bits[0] = 0x7fc00001; // a NaN with a payload
  bits[1] = 0xff800001; // a negative signalling NaN
  const values = [...special.map((x) => Float32Array.of(x)), ...Array.from(new Float32Array(bits.buffer), (x) => Float32Array.of(x))];
  for (const one of values) assert.equal(allFinite(one), Number.isFinite(one[0]!), `seed ${seed}: ${one[0]} (bits ${new Uint32Array(one.buffer)[0]!.toString(16)})`);
  const finite = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e30);
  assert.equal(allFinite(finite), true);
  for (const at of [0, 499, 999]) {
    const poisoned = finite.slice();
    poisoned[at] = NaN;
    assert.equal(allFinite(poisoned), false, `a NaN at ${at} of 1000`);
    assert.equal(allFinite(poisoned.subarray(at === 0 ? 1 : 0, at === 0 ? 1000 : at)), true, `a view that leaves out the NaN at ${at} (byte offset honoured)`);
  }
  assert.equal(allFinite(Int32Array.of(0x7fffffff, -1)), true, "integers are always finite");
});
