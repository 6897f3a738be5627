import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { SaveSchedule } from "../../trainer/src/train/loop.js";

test("every N steps, counted from the last save started (or the resumed step)", () => {
  const s = new SaveSchedule(10, 0, 100, 1000);
  assert.equal(s.due(109), false);
  assert.equal(s.due(110), true);
  assert.equal(s.due(113), true, "still due while a save is in flight and this one waits");
  s.started(113);
  assert.equal(s.due(122), false);
  assert.equal(s.due(123), true);
});

test("every N seconds", async () => {
  const s = new SaveSchedule(0, 0.5, 0, 1000);
  assert.equal(s.due(1), false);
  await sleep(600);
  assert.equal(s.due(2), true);
  s.started(2);
  assert.equal(s.due(3), false);
});

test("never at or past the last step (the final save follows), never with both triggers off", () => {
  assert.equal(new SaveSchedule(1, 0, 0, 5).due(5), false);
  assert.equal(new SaveSchedule(0, 0, 0, 1000).due(999), false);
});
