// The backoff shared by the operator's watches and the process kubelet's loops.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JitteredBackoff, ManualClock } from "@resumable/kube-runtime";

const options = { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };

describe("JitteredBackoff", () => {
  it("doubles up to the cap, each delay drawn from [d/2, d]", () => {
    const low = new JitteredBackoff({ ...options, clock: new ManualClock(), random: () => 0 });
    const high = new JitteredBackoff({ ...options, clock: new ManualClock(), random: () => 1 });
    assert.deepEqual(Array.from({ length: 8 }, () => low.next()), [400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
    assert.deepEqual(Array.from({ length: 8 }, () => high.next()), [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it("starts over after a quiet spell, or at once on reset()", () => {
    const clock = new ManualClock();
    const backoff = new JitteredBackoff({ ...options, clock, random: () => 1 });
    backoff.next();
    backoff.next();
    clock.advance(120_000);
    assert.equal(backoff.next(), 800, "healthy for resetAfterMs");
    backoff.next();
    backoff.reset();
    assert.equal(backoff.next(), 800, "reset by a success");
  });
});
