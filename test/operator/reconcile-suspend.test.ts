import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock, aPod, aRun, actionKinds, afterWrite, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

describe("reconcile: suspend and resume", () => {
  it("suspend stops the trainer gracefully, is not a preemption, and resuming starts the next attempt", () => {
    const clock = new FakeClock();
    let run = aRun({ suspend: true }, startedStatus(1));

    const stopping = pass(run, [running(1)], clock.now());
    assert.deepEqual(stopping.actions, [{ kind: "deletePod", name: "mnist-1", uid: "pod-uid-1", reason: "the run is suspended" }]);
    assert.equal(stopping.status.phase, "Suspended");
    assert.deepEqual(eventReasons(stopping), ["Suspended"]);
    run = afterWrite(run, stopping);

    // The graceful deletion is under way: nothing more to do, nothing said twice.
    const terminating = running(1, { deletedAt: clock.now() });
    const waiting = pass(run, [terminating], clock.advance(5));
    assert.deepEqual(waiting.actions, []);
    assert.deepEqual(waiting.events, []);
    run = afterWrite(run, waiting);

    const summary = { reason: "preempted", step: 420, checkpoint: { step: 420 } };
    const stopped = pass(run, [aPod(1, { phase: "Failed", node: "spot-1", exitCode: 143, summary, deletedAt: clock.now() })], clock.advance(5));
    assert.equal(stopped.status.attempts?.[0]?.endReason, "Suspended");
    assert.equal(stopped.status.preemptions, 0);
    assert.equal(stopped.status.failures, 0);
    assert.deepEqual(actionKinds(stopped), []);
    assert.equal(stopped.status.phase, "Suspended");
    run = afterWrite(run, stopped);

    run = { ...run, spec: { ...run.spec, suspend: false } };
    const resumed = pass(run, [], clock.advance(60));
    assert.deepEqual(actionKinds(resumed), ["createPod"]);
    assert.equal(resumed.status.attempt, 2);
    assert.deepEqual(eventReasons(resumed), ["Unsuspended", "PodCreated"]);
    assert.equal(resumed.status.conditions?.find((c) => c.type === "Suspended")?.status, "False");
  });

  it("a stopped pod that ended and was deleted before the next pass still has its final flush recorded", () => {
    // The kubelet deletes a gracefully deleted pod as soon as it has posted its terminal
    // status: the pass may see the pod only in the cache's memory of ended pods.
    const clock = new FakeClock();
    let run = aRun({ suspend: true }, startedStatus(1));
    run = afterWrite(run, pass(run, [running(1)], clock.now()));
    const summary = { reason: "preempted", step: 420, checkpoint: { step: 420, bytes: 1000 } };
    const ended = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 143, summary, deletedAt: clock.now() });
    const gone = pass(run, [], clock.advance(5), { endedPodsGone: [ended] });
    assert.equal(gone.status.attempts?.[0]?.endReason, "Suspended");
    assert.equal(gone.status.attempts?.[0]?.exitCode, 143, "the end is read from the pod's last state, not taken for a deletion");
    assert.equal(gone.status.lastCheckpoint?.step, 420);
    assert.equal(gone.status.lastCheckpoint?.reason, "preemption");
    assert.equal(gone.status.preemptions, 0);
    // A pod of another attempt (or an older pod of the same name) is not this attempt's.
    const other = pass(run, [], clock.advance(5), { endedPodsGone: [aPod(1, { phase: "Failed", exitCode: 143, summary, uid: "pod-uid-old" })] });
    assert.equal(other.status.lastCheckpoint, undefined);
    assert.equal(other.status.attempts?.[0]?.endDetail, "PodDeleted");
  });

  it("a run created suspended starts nothing", () => {
    const d = pass(aRun({ suspend: true }), [], new FakeClock().now(), { pvc: null });
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.phase, "Suspended");
  });

  it("unsuspending before the stopped pod is gone still does not count a preemption", () => {
    const clock = new FakeClock();
    let run = aRun({ suspend: true }, startedStatus(1));
    run = afterWrite(run, pass(run, [running(1)], clock.now()));
    run = { ...run, spec: { ...run.spec, suspend: false } };
    const stillStopping = pass(run, [running(1, { deletedAt: clock.now() })], clock.advance(1));
    assert.deepEqual(stillStopping.actions, [], "at most one trainer: wait for it");
    assert.equal(stillStopping.status.phase, "Restarting");
    run = afterWrite(run, stillStopping);
    const gone = pass(run, [], clock.advance(5));
    assert.equal(gone.status.attempts?.[0]?.endReason, "Suspended");
    assert.equal(gone.status.preemptions, 0);
    assert.deepEqual(actionKinds(gone), ["createPod"]);
  });
});
