// The reports exactly as the trainer writes them, typed by the trainer's own interfaces:
// a change on either side of docs/trainer-protocol.md breaks this file first.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Progress } from "../../trainer/src/report/progress.js";
import type { Summary } from "../../trainer/src/report/summary.js";
import { FakeClock, aPod, aRun, afterWrite, disruption, pass, running, startedStatus } from "./reconcile-fixtures.js";

const freshStart: Progress = { step: 40, totalSteps: 600, epoch: 0, loss: null, resumedFromStep: null, checkpoint: null, updatedAt: "2026-11-28T12:00:05.000Z" };

const preemptedSummary: Summary = {
  reason: "preempted",
  step: 140,
  totalSteps: 600,
  epoch: 1,
  loss: 0.4,
  checkpoint: { step: 140, path: "/checkpoints/ckpt-00000140", bytes: 409600, saveSeconds: 0.05 },
  resumedFromStep: null,
  attempt: 1,
  backend: "cpu",
  weightsSha256: null,
  accuracy: null,
};

describe("reconcile: the trainer's reports as written", () => {
  it("a fresh start (nulls for none yet) is progress, not a resume", () => {
    const clock = new FakeClock();
    const d = pass(aRun({}, startedStatus(1)), [running(1, { progress: { ...freshStart } })], clock.now());
    assert.deepEqual(d.status.progress, { step: 40, totalSteps: 600, epoch: 0, updatedAt: "2026-11-28T12:00:05.000Z", recordedAt: clock.now().toISOString() });
    assert.equal(d.status.lastCheckpoint, undefined);
    assert.equal(d.status.attempts?.[0]?.resumedFromStep, 0);
    assert.deepEqual(d.events, []);
  });

  it("a preempted summary with null fields is recorded without them; a later fresh start counts every step lost", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const pod = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 143, summary: { ...preemptedSummary }, conditions: [disruption("EvictionByEvictionAPI")] });
    const ended = pass(run, [pod], clock.now());
    assert.equal(ended.status.attempts?.[0]?.reachedStep, 140);
    assert.equal(ended.status.lastCheckpoint?.step, 140);
    assert.ok(!JSON.stringify(ended.status).includes("null"), "no nulls reach status");
    run = afterWrite(run, ended);
    // The checkpoint volume was lost: attempt 2 starts from scratch.
    const resumed = pass(run, [running(2, { progress: { ...freshStart } })], clock.advance(5));
    assert.equal(resumed.status.lostSteps, 140);
  });
});
