// spec.scheduling.fallback through reconcile: a spot run falls back to on-demand (after
// preemptions, or when its pod finds no spot node), and returns to spot at a checkpoint as a
// planned move that is never counted as a preemption.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { T0, aPod, aRun, actionKinds, eventReasons, pass, running } from "./reconcile-fixtures.js";
import { at, createdPod, nodeKeys, play, reclaimed } from "./fallback-fixtures.js";

describe("reconcile: capacity fallback", () => {
  it("after afterPreemptions the next pod goes to on-demand: no spot terms or tolerations, the clouds' on-demand labels", () => {
    const { run, decisions } = play(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1 } } }), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
    ]);
    const last = decisions.at(-1)!;
    assert.ok(eventReasons(last).includes("FellBackToOnDemand"), eventReasons(last).join(", "));
    const pod = createdPod(last);
    assert.deepEqual(pod.spec?.tolerations, undefined);
    assert.ok(nodeKeys(pod).includes("cloud.google.com/gke-provisioning In standard"), nodeKeys(pod).join("; "));
    assert.ok(!nodeKeys(pod).some((k) => k.includes("gke-spot")), nodeKeys(pod).join("; "));
    assert.equal(run.status?.preemptions, 1);
    assert.deepEqual(
      run.status?.attempts?.map((a) => [a.attempt, a.capacityType, a.capacityReason]),
      [
        [1, "spot", "Spec"],
        [2, "on-demand", "AfterPreemptions"],
      ],
    );
    assert.equal(run.status?.capacity?.moves, 1);
  });

  it("fallback.onDemandNodeSelector replaces the clouds' on-demand labels", () => {
    const spec = { scheduling: { spot: true, fallback: { afterPreemptions: 1, onDemandNodeSelector: { pool: "on-demand" } } } };
    const { decisions } = play(aRun(spec), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
    ]);
    const pod = createdPod(decisions.at(-1)!);
    assert.deepEqual(pod.spec?.nodeSelector, { pool: "on-demand" });
    assert.deepEqual(nodeKeys(pod), []);
  });

  it("replaces a pod unschedulable on spot for afterPendingSeconds: the move recorded, the pod deleted on the next pass, not a preemption", () => {
    const pending = aPod(1, { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes", lastTransitionTime: T0 }] });
    const { run, decisions } = play(aRun({ scheduling: { spot: true, fallback: { afterPendingSeconds: 30 } } }), [
      { pods: [], now: T0 },
      { pods: [pending], now: at(10) },
      { pods: [pending], now: at(30) },
      { pods: [pending], now: at(31) },
      { pods: [], now: at(32) },
    ]);
    assert.equal(decisions[1]!.requeueAfterMs, 20_000, "looks again when the wait runs out");
    const replace = decisions[2]!;
    assert.deepEqual(replace.actions, [], "never deleted in the pass that records the end: a failed status write would lose the move");
    assert.ok(eventReasons(replace).includes("FellBackToOnDemand"));
    assert.deepEqual(decisions[3]!.actions, [{ kind: "deletePod", name: "mnist-1", uid: "pod-uid-1", reason: "its attempt has ended" }]);
    assert.equal(createdPod(decisions[4]!).metadata?.name, "mnist-2");
    assert.equal(run.status?.preemptions, 0);
    assert.equal(run.status?.failures, 0);
    assert.deepEqual(run.status?.attempts?.map((a) => [a.capacityType, a.endReason, a.endDetail]), [
      ["spot", "Moved", "PendingOnSpot"],
      ["on-demand", undefined, undefined],
    ]);
  });

  it("returns to spot after returnToSpotAfterSeconds at the first checkpoint after the decision: a planned move, no preemption", () => {
    const checkpoint = (step: number, s: number) => ({ step, totalSteps: 600, resumedFromStep: 100, checkpoint: { step, time: at(s).toISOString(), bytes: 1, reason: "periodic" } });
    const onDemand = (o: Parameters<typeof aPod>[1]) => aPod(2, { node: "ondemand-a", startTime: at(61), ...o });
    const { run, decisions } = play(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1, returnToSpotAfterSeconds: 60 } } }), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
      { pods: [onDemand({ phase: "Running", progress: checkpoint(150, 90) })], now: at(100) },
      { pods: [onDemand({ phase: "Running", progress: checkpoint(200, 119) })], now: at(121) },
      { pods: [onDemand({ phase: "Running", progress: checkpoint(250, 125) })], now: at(126) },
      {
        pods: [onDemand({ phase: "Failed", deletedAt: at(151), exitCode: 143, summary: { reason: "preempted", step: 260, resumedFromStep: 100, checkpoint: { step: 260 } } })],
        now: at(130),
      },
    ]);
    assert.equal(decisions[3]!.requeueAfterMs, 20_000, "looks again when returnToSpotAfterSeconds runs out");
    assert.ok(eventReasons(decisions[4]!).includes("ReturningToSpot"));
    assert.deepEqual(actionKinds(decisions[4]!), ["annotatePod"], "the checkpoint before the decision is not the boundary: one is asked for");
    assert.deepEqual(decisions[5]!.actions.map((a) => [a.kind, "gracePeriodSeconds" in a ? a.gracePeriodSeconds : "pod's own"]), [["deletePod", "pod's own"]]);
    const moved = decisions[6]!;
    assert.ok(eventReasons(moved).includes("ReturnedToSpot"), eventReasons(moved).join(", "));
    assert.ok(!eventReasons(moved).includes("Preempted"));
    assert.equal(run.status?.preemptions, 1, "only the reclaim");
    assert.equal(run.status?.capacity?.type, "spot");
    assert.equal(run.status?.capacity?.moves, 2);
    const third = createdPod(moved);
    assert.ok(nodeKeys(third).includes("cloud.google.com/gke-spot In true"));
    assert.deepEqual(run.status?.attempts?.map((a) => [a.capacityType, a.endReason, a.endDetail]), [
      ["spot", "Preempted", "TerminationByKubelet"],
      ["on-demand", "Moved", "ReturnToSpot"],
      ["spot", undefined, undefined],
    ]);
  });

  it("a pod deleted by someone else while the return to spot waits for its checkpoint is a preemption, not the planned move", () => {
    const onDemand = (o: Parameters<typeof aPod>[1]) => aPod(2, { node: "ondemand-a", startTime: at(61), ...o });
    const { run } = play(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1, returnToSpotAfterSeconds: 60 } } }), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
      { pods: [onDemand({ phase: "Running" })], now: at(100) },
      { pods: [onDemand({ phase: "Running" })], now: at(121) },
      { pods: [onDemand({ phase: "Failed", deletedAt: at(125), exitCode: 143, summary: { reason: "preempted", step: 260, resumedFromStep: 100, checkpoint: { step: 260 } } })], now: at(130) },
    ]);
    assert.ok(run.status?.capacity?.returnRequestedAt !== undefined, "the return was requested and waited for a checkpoint");
    assert.deepEqual(run.status?.attempts?.slice(0, 2).map((a) => [a.capacityType, a.endReason]), [
      ["spot", "Preempted"],
      ["on-demand", "Preempted"],
    ]);
    assert.equal(run.status?.preemptions, 2);
  });

  it("a fallback policy removed from the spec takes its capacity state with it", () => {
    const spec = { scheduling: { spot: true, fallback: { afterPreemptions: 1 } } };
    const { run } = play(aRun(spec), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
    ]);
    assert.equal(run.status?.capacity?.type, "on-demand");
    const without = pass({ ...run, spec: { ...run.spec, scheduling: { spot: true } } }, [], at(61));
    assert.equal(without.status.capacity, undefined);
  });

  it("a spot run without a fallback policy never moves and keeps no capacity state", () => {
    const { run, decisions } = play(aRun({ scheduling: { spot: true } }), [
      { pods: [], now: T0 },
      { pods: [running(1, { startTime: T0 })], now: at(1) },
      { pods: [reclaimed(1)], now: at(60) },
    ]);
    assert.ok(nodeKeys(createdPod(decisions.at(-1)!)).includes("cloud.google.com/gke-spot In true"));
    assert.equal(run.status?.capacity, undefined);
    assert.deepEqual(run.status?.attempts?.map((a) => a.capacityType), ["spot", "spot"]);
  });
});
