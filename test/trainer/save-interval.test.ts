import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdaptiveSaveSchedule, chooseInterval, DEFAULT_INTERVAL_POLICY, SaveCostMeter, type SaveCosts } from "../../trainer/src/train/save-interval.js";
import { seededRandom } from "../support/seeded-random.js";

// A pool that loses a node every ten hours: Young/Daly alone would save every 12 s on the MLP.
const policy = { ...DEFAULT_INTERVAL_POLICY, disruptionsPerHour: 0.1 };
// The MNIST MLP on this machine: ~5 ms a step, a ~2 ms snapshot, ~40 ms to a volume.
const mlp: SaveCosts = { stepSeconds: 0.005, stallSeconds: 0.002, writeSeconds: 0.04 };

describe("the adaptive checkpoint interval", () => {
  test("a cheap save on a fast step: the lost-work goal decides (5 s of training, more than 10 steps), the write counted in it", () => {
    const i = chooseInterval(mlp, policy);
    assert.equal(i.bound, "lost-work");
    // 1000 steps is 5 s; the 40 ms write is 8 of them: a loss just before a commit loses both.
    assert.equal(i.steps, 992);
    assert.equal(i.lostSteps, 1000);
    assert.ok(i.overhead <= policy.maxOverhead);
  });

  test("slow steps: 10 steps is the goal, not 5 s", () => {
    const i = chooseInterval({ stepSeconds: 2, stallSeconds: 0.01, writeSeconds: 0.5 }, policy);
    assert.equal(i.bound, "lost-work");
    assert.equal(i.steps, 9);
    assert.equal(i.lostSteps, 10);
  });

  test("a high disruption rate makes Young/Daly ask for more saves than the goal", () => {
    // √(2 · 0.002 s / (360/h ÷ 3600 s/h)) = 0.2 s: 40 steps of 5 ms.
    const i = chooseInterval(mlp, { ...policy, disruptionsPerHour: 360 });
    assert.equal(i.bound, "optimal");
    assert.equal(i.steps, Math.floor(Math.sqrt((2 * 0.002) / 0.1) / 0.005));
  });

  test("an expensive stall: the overhead budget wins over the goal, and says so", () => {
    // A 0.5 s snapshot at 2 %: no save more often than every 25 s, though the goal is 5 s.
    const i = chooseInterval({ stepSeconds: 0.1, stallSeconds: 0.5, writeSeconds: 1 }, policy);
    assert.equal(i.bound, "overhead");
    assert.equal(i.steps, 250);
    assert.ok(Math.abs(i.overhead - 0.02) < 1e-9);
  });

  test("a slow write: never shorter than the write (one save in flight), whatever the rest says", () => {
    const i = chooseInterval({ stepSeconds: 0.01, stallSeconds: 0.001, writeSeconds: 20 }, policy);
    assert.equal(i.bound, "write");
    assert.ok(i.seconds >= 20);
  });

  test("no disruptions known: the goal alone bounds it (Young/Daly would never save)", () => {
    assert.equal(chooseInterval(mlp, { ...policy, disruptionsPerHour: 0 }).bound, "lost-work");
  });

  test("property: the interval is at least one step, within the budget and the write, and within the goal unless a floor overrides it", () => {
    const seed = Number(process.env.INTERVAL_SEED ?? Date.now() % 1_000_000);
    console.log(`INTERVAL_SEED=${seed}`);
    const random = seededRandom(seed);
    for (let n = 0; n < 2000; n++) {
      const costs = { stepSeconds: 1e-4 + random() * 5, stallSeconds: random() * 2, writeSeconds: random() * 60 };
      const p = { disruptionsPerHour: random() * 100, maxOverhead: 0.001 + random() * 0.2, maxLostSteps: 1 + Math.floor(random() * 100), maxLostSeconds: random() * 60 };
      const i = chooseInterval(costs, p);
      const why = `seed ${seed}, case ${n}: ${JSON.stringify({ costs, p, i })}`;
      const writeSteps = Math.ceil(costs.writeSeconds / costs.stepSeconds - 1e-9);
      assert.ok(i.steps >= 1 && Number.isInteger(i.steps), why);
      assert.equal(i.lostSteps, i.steps + writeSteps, why);
      assert.ok(i.steps > writeSteps, `one save in flight at a time: ${why}`);
      assert.ok(i.overhead <= p.maxOverhead + 1e-9 || i.bound === "write", why);
      const goalSteps = Math.max(p.maxLostSteps, Math.floor(p.maxLostSeconds / costs.stepSeconds + 1e-9));
      if (i.bound === "lost-work" || i.bound === "optimal") assert.ok(i.lostSteps <= goalSteps, why);
    }
  });
});

describe("the adaptive save schedule", () => {
  test("saves after the first steps, then at the interval its measurements give, and reports each change", () => {
    const changes: number[] = [];
    const meter = new SaveCostMeter();
    const s = new AdaptiveSaveSchedule(0, 100_000, meter, policy, (i) => changes.push(i.steps), 10);
    // A function, so the type checker does not narrow the getter's value across the calls below.
    const current = () => s.interval;
    assert.equal(s.due(9), false);
    assert.equal(s.due(10), true, "the first save comes early: its cost is what the interval needs");
    s.started(10);
    for (let k = 0; k < 5; k++) meter.observeStep(0.005);
    meter.observeStall(0.002);
    assert.equal(current(), undefined, "not before the write is measured too");
    assert.equal(meter.flushSeconds, undefined);
    meter.observeWrite(0.04);
    assert.equal(current()?.steps, 992);
    assert.ok(Math.abs(meter.flushSeconds! - 0.047) < 1e-9, "a flush: a step, a stall and a write");
    assert.equal(s.due(1001), false);
    assert.equal(s.due(1002), true);
    // Noise is not a change: steps 3 % slower leave the interval (and the log) alone.
    for (let k = 0; k < 20; k++) meter.observeStep(0.00515);
    meter.observeStall(0.002);
    assert.equal(current()?.steps, 992);
    assert.deepEqual(changes, [992]);
    // The disk slows down: the interval follows within a few saves, and each change is told.
    for (let k = 0; k < 10; k++) meter.observeWrite(30);
    assert.ok(current()!.steps > 992);
    assert.equal(current()!.bound, "write");
    assert.deepEqual(changes.slice(0, 1), [992]);
    assert.ok(changes.length >= 2);
  });

  test("never at or past the last step: the final save follows", () => {
    const s = new AdaptiveSaveSchedule(0, 5, new SaveCostMeter(), policy, undefined, 1);
    assert.equal(s.due(5), false);
  });
});
