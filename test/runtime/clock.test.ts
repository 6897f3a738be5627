// The one clock's sleep: every loop in the tree waits through it, so stopping its owner's
// signal must end the wait, and the manual clock must drive it without real time passing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock, systemClock } from "@resumable/kube-runtime";

const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe("Clock.sleep", () => {
  it("on a manual clock resolves only once time is advanced past it", async () => {
    const clock = new ManualClock();
    const wait = clock.sleep(1_000);
    clock.advance(999);
    assert.equal(await settled(wait), false);
    clock.advance(1);
    assert.equal(await settled(wait), true);
    assert.equal(clock.pendingTimers(), 0);
  });

  it("ends at once when its signal aborts, and drops its timer", async () => {
    const clock = new ManualClock();
    const stop = new AbortController();
    const wait = clock.sleep(60_000, stop.signal);
    stop.abort();
    assert.equal(await settled(wait), true);
    assert.equal(clock.pendingTimers(), 0);
  });

  it("does not wait at all on a signal already aborted, on the system clock too", async () => {
    const stop = new AbortController();
    stop.abort();
    assert.equal(await settled(systemClock.sleep(3_600_000, stop.signal)), true);
  });
});
