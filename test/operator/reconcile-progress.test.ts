import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setCondition } from "../../operator/src/model/conditions.js";
import { FakeClock, aPod, aRun, afterWrite, disruption, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

const report = (step: number, extra: Record<string, unknown> = {}) => ({
  step,
  totalSteps: 600,
  epoch: 1,
  loss: 0.5,
  updatedAt: "2026-11-28T12:00:01.000Z",
  ...extra,
});

describe("reconcile: progress, lost steps and conditions", () => {
  it("the progress annotation becomes status.progress, lastCheckpoint and the attempt's reached step", () => {
    const checkpoint = { step: 200, time: "2026-11-28T12:00:00.500Z", bytes: 4096, reason: "periodic" };
    const clock = new FakeClock();
    const d = pass(aRun({}, startedStatus(1)), [running(1, { progress: report(250, { checkpoint, resumedFromStep: 0 }) })], clock.now());
    // recordedAt: the operator's clock when it wrote the report (the trainer's is updatedAt).
    assert.deepEqual(d.status.progress, { step: 250, totalSteps: 600, epoch: 1, loss: 0.5, updatedAt: "2026-11-28T12:00:01.000Z", recordedAt: clock.now().toISOString() });
    assert.deepEqual(d.status.lastCheckpoint, checkpoint);
    assert.equal(d.status.attempts?.[0]?.reachedStep, 250);
    assert.deepEqual(d.events, [], "a fresh start is not a resume");
  });

  it("a malformed annotation is ignored", () => {
    const pod = running(1);
    pod.metadata = { ...pod.metadata, annotations: { "resumable.dev/progress": "{not json" } };
    const d = pass(aRun({}, startedStatus(1)), [pod], new FakeClock().now());
    assert.equal(d.status.progress, undefined);
    assert.equal(d.status.phase, "Running");
  });

  it("lostSteps: a hard kill loses the steps since the last checkpoint, counted once", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    run = afterWrite(run, pass(run, [running(1, { progress: report(250) })], clock.now()));
    // The node vanished with the pod: no summary, the last report said step 250.
    const replaced = pass(run, [], clock.advance(1));
    assert.equal(replaced.status.attempt, 2);
    run = afterWrite(run, replaced);
    const resumed = pass(run, [running(2, { progress: report(205, { resumedFromStep: 200 }) })], clock.advance(5));
    assert.equal(resumed.status.lostSteps, 50);
    assert.equal(resumed.status.attempts?.[1]?.resumedFromStep, 200);
    assert.deepEqual(eventReasons(resumed), ["Resumed"]);
    assert.match(resumed.events[0]?.message ?? "", /resumed from step 200 \(50 steps lost\)/);
    run = afterWrite(run, resumed);
    const again = pass(run, [running(2, { progress: report(300, { resumedFromStep: 200 }) })], clock.advance(5));
    assert.equal(again.status.lostSteps, 50);
    assert.deepEqual(again.events, []);
  });

  it("lostSteps: a graceful preemption loses nothing", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const summary = { reason: "preempted", step: 321, checkpoint: { step: 321 } };
    const ended = pass(run, [aPod(1, { phase: "Failed", node: "spot-1", exitCode: 143, summary, conditions: [disruption("TerminationByKubelet")] })], clock.now());
    assert.equal(ended.status.attempts?.[0]?.reachedStep, 321);
    assert.deepEqual(ended.status.lastCheckpoint, { step: 321, time: clock.now().toISOString(), reason: "preemption" });
    run = afterWrite(run, ended);
    const resumed = pass(run, [running(2, { progress: report(321, { resumedFromStep: 321 }) })], clock.advance(3));
    assert.equal(resumed.status.lostSteps, 0);
    assert.deepEqual(eventReasons(resumed), ["Resumed"]);
  });

  it("lastCheckpoint follows the newest attempt, even back to an older step after a corrupt checkpoint", () => {
    const clock = new FakeClock();
    const at = (step: number) => ({ step, time: "2026-11-28T12:00:00.000Z", bytes: 1, reason: "periodic" });
    let run = aRun({}, startedStatus(2, { lastCheckpoint: { step: 300, reason: "periodic" } }));
    const d = pass(run, [running(2, { progress: report(210, { resumedFromStep: 200, checkpoint: at(200) }) })], clock.now());
    assert.equal(d.status.lastCheckpoint?.step, 200);
    run = afterWrite(run, d);
    const later = pass(run, [running(2, { progress: report(310, { resumedFromStep: 200, checkpoint: at(300) }) })], clock.advance(60));
    assert.equal(later.status.lastCheckpoint?.step, 300);
  });

  it("conditions move lastTransitionTime only when their status flips", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const first = pass(run, [running(1)], clock.now());
    const runningSince = first.status.conditions?.find((c) => c.type === "Running")?.lastTransitionTime;
    assert.equal(runningSince, clock.now().toISOString());
    run = afterWrite(run, first);
    const later = pass(run, [running(1, { progress: report(400) })], clock.advance(120));
    assert.equal(later.status.conditions?.find((c) => c.type === "Running")?.lastTransitionTime, runningSince);
    assert.equal(later.status.conditions?.find((c) => c.type === "Valid")?.lastTransitionTime, runningSince);
    run = afterWrite(run, later);
    const stopped = pass(run, [aPod(1, { phase: "Failed", node: "spot-1", exitCode: 1 })], clock.advance(60));
    const runningNow = stopped.status.conditions?.find((c) => c.type === "Running");
    assert.equal(runningNow?.status, "False");
    assert.equal(runningNow?.lastTransitionTime, clock.now().toISOString());
  });

  it("setCondition keeps the transition time on an unchanged status but takes the new reason", () => {
    const t1 = new Date("2026-11-28T12:00:00Z");
    const t2 = new Date("2026-11-28T13:00:00Z");
    const once = setCondition([], { type: "Running", status: "False", reason: "PodPending", message: "a" }, t1, 1);
    const twice = setCondition(once, { type: "Running", status: "False", reason: "Backoff", message: "b" }, t2, 2);
    assert.deepEqual(twice, [{ type: "Running", status: "False", reason: "Backoff", message: "b", lastTransitionTime: t1.toISOString(), observedGeneration: 2 }]);
    const flipped = setCondition(twice, { type: "Running", status: "True", reason: "TrainerRunning", message: "c" }, t2);
    assert.equal(flipped[0]?.lastTransitionTime, t2.toISOString());
  });

  it("a steady pass changes nothing, so its own status write cannot trigger another", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const pod = running(1, { progress: report(100) });
    run = afterWrite(run, pass(run, [pod], clock.now()));
    const steady = pass(run, [pod], clock.advance(30));
    assert.deepEqual(steady.status, run.status);
    assert.deepEqual(steady.actions, []);
    assert.deepEqual(steady.events, []);
    assert.equal(steady.requeueAfterMs, undefined);
  });
});
