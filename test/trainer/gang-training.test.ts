/**
 * Data-parallel training in a gang (in one process, ranks joined by the FakeGang): every rank
 * ends with the same weights, a gang is bit-identical to another gang of the same size, and a
 * gang's run ends completed on every rank with rank 0's checkpoints recording the gang.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { buildModel, trainingForward } from "../../trainer/src/model/build.js";
import { parseConfig } from "../../trainer/src/config/load.js";
import { loadDataset } from "../../trainer/src/data/dataset.js";
import { sliceOf } from "../../trainer/src/train/data-parallel.js";
import { TrainingSession } from "../../trainer/src/train/session.js";
import { FakeGang } from "./helpers/fake-gang.js";
import { store, testConfig } from "./helpers/snapshots.js";
import { runGangAttempt } from "./helpers/gang-run.js";
import { tempDir, tinyConfig } from "./helpers/trainer-process.js";

// A global batch of 16 on 3 ranks splits 5, 5, 6: uneven slices are part of every gang-of-3 run.
const config = tinyConfig({ totalSteps: 12, checkpoint: { everySteps: 4, everySeconds: 0, keep: 3 } });

async function gang(worldSize: number) {
  const dir = join(await tempDir(), "ckpt");
  return { dir, ranks: await runGangAttempt({ worldSize, config, dir, attempt: 1 }) };
}

test("a gang of 3 is bit-identical to another gang of 3, and its ranks to each other", async () => {
  const first = await gang(3);
  const second = await gang(3);
  for (const r of [...first.ranks, ...second.ranks]) {
    assert.equal(r.exitCode, 0, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
    assert.equal(r.summary.reason, "completed");
    assert.equal(r.summary.step, 12);
    assert.equal(r.summary.rank, r.rank);
    assert.equal(r.summary.worldSize, 3);
    assert.equal(r.progress?.rank, r.rank);
    assert.equal(r.progress?.worldSize, 3);
  }
  const digests = new Set([...first.ranks, ...second.ranks].map((r) => r.summary.weightsSha256));
  assert.equal(digests.size, 1, `one set of weights across both gangs' ranks: ${[...digests].join(", ")}`);
  assert.deepEqual(
    first.ranks.map((r) => r.summary.loss),
    second.ranks.map((r) => r.summary.loss),
  );
});

test("ranks > 0 report the final checkpoint rank 0 committed, and only rank 0 wrote any", async () => {
  const { dir, ranks } = await gang(2);
  // Which periodic saves happen depends on how long each takes (one in flight at a time); the final one always does.
  const listed = await store(dir).list();
  assert.equal(listed[0]?.step, 12);
  for (const r of ranks) assert.equal((r.summary.checkpoint as { step: number }).step, 12, `rank ${r.rank} reports step 12's checkpoint`);
  for (const c of listed) {
    const loaded = await store(dir).load(c.path);
    assert.equal(loaded.manifest.worldSize, 2, `step ${c.step}: the manifest records the world size`);
  }
  assert.equal(ranks[0]!.summary.weightsSha256, ranks[1]!.summary.weightsSha256);
});

test("a gang of 1 trains exactly as one pod: no gang record, no rank in its reports", async () => {
  const dir = join(await tempDir(), "ckpt");
  const [only] = await runGangAttempt({ worldSize: 1, config, dir, attempt: 1 });
  assert.equal(only!.exitCode, 0, JSON.stringify(only!.summary));
  assert.equal(only!.summary.rank, undefined);
  assert.equal(only!.progress?.rank, undefined);
  const loaded = await store(dir).loadNewestValid();
  assert.equal(loaded?.manifest.worldSize, undefined);
});

test("dropout is drawn for the global batch: each rank's rows get exactly the mask one pod draws for them", async () => {
  await tf.setBackend("cpu");
  const model = buildModel({ ...testConfig, hiddenUnits: 32, dropout: 0.5 });
  const batch = 16;
  const x = tf.randomUniform([batch, 784], 0, 1, "float32", 7);
  const whole = trainingForward(model, x, 1234, 9).dataSync();
  for (const worldSize of [2, 3]) {
    const parts = Array.from({ length: worldSize }, (_, rank) => {
      const { start, end } = sliceOf(rank, worldSize, batch);
      return trainingForward(model, x.slice(start, end - start), 1234, 9, { start, total: batch }).dataSync();
    });
    const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
    assert.deepEqual(joined, whole, `the ${worldSize} slices' outputs are the whole batch's, bit for bit`);
  }
});

test("the loss a gang reports is the global batch's: the first step's agrees with one pod's up to float rounding", async () => {
  const firstLoss = async (worldSize: number) => {
    const ranks = await runGangAttempt({ worldSize, config, dir: join(await tempDir(), "ckpt"), attempt: 1 });
    return ranks.map((r) => r.lines.find((l) => l.msg === "first step of this attempt")!.loss as number);
  };
  const [single] = await firstLoss(1);
  const gangOf3 = await firstLoss(3);
  assert.equal(new Set(gangOf3).size, 1, "every rank reports the same loss");
  assert.ok(Math.abs(gangOf3[0]! - single!) < 1e-5, `gang ${gangOf3[0]} vs one pod ${single}`);
});

test("a gang step leaves no tensor behind", async () => {
  await tf.setBackend("cpu");
  const parsed = parseConfig(JSON.stringify(config), "test config");
  const session = new TrainingSession(parsed, await loadDataset(parsed), "cpu");
  const [rank] = new FakeGang(1).ranks;
  const wanted = { stop: false, checkpoint: false };
  await session.gangStep(rank!, wanted); // Adam makes its moments on the first step
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) await session.gangStep(rank!, wanted);
  assert.equal(tf.memory().numTensors, before);
  session.dispose();
});
