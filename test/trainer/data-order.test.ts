import assert from "node:assert/strict";
import { test } from "node:test";
import { DataOrder } from "../../trainer/src/data/order.js";
import { deriveSeed, Prng } from "../../trainer/src/data/prng.js";

test("the PRNG is a pure function of its state", () => {
  const a = Prng.fromSeed(42);
  const b = new Prng(a.state);
  assert.deepEqual(Array.from({ length: 5 }, () => a.nextUint32()), Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(Prng.fromSeed(42).state, Prng.fromSeed(43).state);
});

test("the PRNG is xoshiro128**: the reference outputs from state [1, 2, 3, 4]", () => {
  // Pinned: a change to the generator would silently change every run's data order.
  const p = new Prng([1, 2, 3, 4]);
  assert.deepEqual(Array.from({ length: 4 }, () => p.nextUint32()), [11520, 0, 5927040, 70819200]);
});

test("nextBelow stays in range and covers it", () => {
  const p = Prng.fromSeed(7);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const x = p.nextBelow(10);
    assert.ok(x >= 0 && x < 10);
    seen.add(x);
  }
  assert.equal(seen.size, 10);
});

test("each epoch is a permutation; the last partial batch is dropped", () => {
  const order = DataOrder.fresh(10, 1);
  const epoch0 = [...order.nextBatch(3), ...order.nextBatch(3), ...order.nextBatch(3)];
  assert.equal(new Set(epoch0).size, 9);
  const first = order.nextBatch(3);
  assert.equal(order.current.epoch, 1);
  assert.equal(order.current.positionInEpoch, 3);
  assert.equal(first.length, 3);
});

test("an order restored from a saved position continues exactly where it was, across epochs", () => {
  const run = DataOrder.fresh(50, 99);
  for (let i = 0; i < 17; i++) run.nextBatch(7); // into the third epoch
  const saved = run.current;
  const restored = new DataOrder(50, saved);
  for (let i = 0; i < 20; i++) assert.deepEqual(restored.nextBatch(7), run.nextBatch(7));
});

test("derived seeds differ per step and layer and are stable", () => {
  assert.equal(deriveSeed(42, 10, 1), deriveSeed(42, 10, 1));
  assert.notEqual(deriveSeed(42, 10, 1), deriveSeed(42, 11, 1));
  assert.notEqual(deriveSeed(42, 10, 1), deriveSeed(42, 10, 2));
});
