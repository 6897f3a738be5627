import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Node } from "@kubernetes/client-node";
import { FakeClock, aNode, aRun, actionKinds, afterWrite, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

/** The node lifecycle controller's taint on a node that stopped reporting. */
function tainted(node: V1Node): V1Node {
  return { ...node, spec: { ...node.spec, taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }] } };
}

describe("reconcile: the next attempt never races the taint of the node the last one lost", () => {
  /** Attempt 1 ended NodeLost on spot-1 and its pod is gone: the pass that would start attempt 2. */
  function afterNodeLoss(clock: FakeClock) {
    const lostSince = clock.now();
    let run = aRun({}, startedStatus(1));
    const zombie = running(1);
    const unreachable = [aNode("spot-1", "Unknown", lostSince), aNode("spot-2")];
    const giveUp = pass(run, [zombie], clock.advance(45), { nodes: unreachable });
    assert.equal(giveUp.status.attempts?.[0]?.endDetail, "NodeLost");
    run = afterWrite(run, giveUp);
    return { run, unreachable };
  }

  it("while the lost node is Unknown but not yet tainted unreachable, no pod is created: the scheduler could still place it there", () => {
    const clock = new FakeClock();
    const { run, unreachable } = afterNodeLoss(clock);
    const wait = pass(run, [], clock.advance(1), { nodes: unreachable });
    assert.deepEqual(actionKinds(wait), []);
    assert.equal(wait.status.attempt, 1, "no attempt 2 yet");
    const running = wait.status.conditions?.find((c) => c.type === "Running");
    assert.equal(running?.reason, "LostNodeUntainted");
    assert.match(running?.message ?? "", /node spot-1 of attempt 1 is lost but not yet tainted/);
    assert.ok(wait.requeueAfterMs !== undefined && wait.requeueAfterMs <= 1_000, "looks again within a second");
  });

  for (const [name, change] of [
    ["tainted unreachable", (n: V1Node) => tainted(n)],
    ["cordoned", (n: V1Node) => ({ ...n, spec: { unschedulable: true } })],
  ] as const) {
    it(`once the lost node is ${name}, attempt 2 starts at once`, () => {
      const clock = new FakeClock();
      const { run, unreachable } = afterNodeLoss(clock);
      const next = pass(run, [], clock.advance(1), { nodes: [change(unreachable[0]!), unreachable[1]!] });
      assert.deepEqual(actionKinds(next), ["createPod"]);
      assert.equal(next.status.attempt, 2);
    });
  }

  it("a lost node that is deleted holds nothing up", () => {
    const clock = new FakeClock();
    const { run, unreachable } = afterNodeLoss(clock);
    assert.deepEqual(actionKinds(pass(run, [], clock.advance(1), { nodes: [unreachable[1]!] })), ["createPod"]);
  });

  it("a cluster that never taints the node (no node lifecycle controller) waits at most 30 s", () => {
    const clock = new FakeClock();
    const { run, unreachable } = afterNodeLoss(clock);
    assert.deepEqual(actionKinds(pass(run, [], clock.advance(29), { nodes: unreachable })), []);
    const next = pass(run, [], clock.advance(2), { nodes: unreachable });
    assert.deepEqual(actionKinds(next), ["createPod"]);
  });

  it("a gang waits for every rank's lost node, not only rank 0's", () => {
    const clock = new FakeClock();
    const base = aRun({}, startedStatus(1));
    const record = { ...base.status!.attempts![0]!, node: "spot-2", endTime: clock.now().toISOString(), endReason: "Preempted" as const, endDetail: "NodeLost", ranks: [{ rank: 0, pod: "mnist-1", node: "spot-2" }, { rank: 1, pod: "mnist-1-1", node: "spot-1" }] };
    const run = { ...base, spec: { ...base.spec!, workers: 2 }, status: { ...base.status!, attempts: [record] } };
    const wait = pass(run, [], clock.advance(1), { nodes: [aNode("spot-1", "Unknown", clock.now()), aNode("spot-2")] });
    assert.deepEqual(actionKinds(wait), []);
    assert.match(wait.status.conditions?.find((c) => c.type === "Running")?.message ?? "", /node spot-1 of attempt 1/);
  });
});

describe("reconcile: pods on lost nodes are not waited on forever", () => {
  for (const [name, nodes] of [
    ["NotReady", (since: Date) => [tainted(aNode("spot-1", "Unknown", since))]],
    ["deleted", () => [aNode("ondemand-1")]],
  ] as const) {
    it(`a pod Running on a ${name} node: preempted after the timeout, then force-deleted, then replaced`, () => {
      const clock = new FakeClock();
      const lostSince = clock.now();
      let run = aRun({}, startedStatus(1));
      const zombie = running(1);

      const early = pass(run, [zombie], clock.advance(10), { nodes: nodes(lostSince) });
      assert.deepEqual(early.actions, []);
      assert.equal(early.status.attempts?.[0]?.endTime, undefined);
      assert.ok(early.requeueAfterMs !== undefined && early.requeueAfterMs > 0, "wakes up when the timeout expires");
      run = afterWrite(run, early);

      const giveUp = pass(run, [zombie], clock.advance(30), { nodes: nodes(lostSince) });
      assert.equal(giveUp.status.attempts?.[0]?.endReason, "Preempted");
      assert.equal(giveUp.status.attempts?.[0]?.endDetail, "NodeLost");
      assert.equal(giveUp.status.preemptions, 1);
      assert.deepEqual(eventReasons(giveUp), ["Preempted"]);
      assert.deepEqual(giveUp.actions, [], "the outcome is recorded before the pod is touched");
      run = afterWrite(run, giveUp);

      const force = pass(run, [zombie], clock.now(), { nodes: nodes(lostSince) });
      assert.deepEqual(force.actions, [
        { kind: "deletePod", name: "mnist-1", uid: "pod-uid-1", gracePeriodSeconds: 0, reason: "stuck on a lost node" },
      ]);
      assert.equal(force.status.preemptions, 1);
      run = afterWrite(run, force);

      const next = pass(run, [], clock.now(), { nodes: nodes(lostSince) });
      assert.deepEqual(actionKinds(next), ["createPod"]);
      assert.equal(next.status.attempt, 2);
      assert.equal(next.status.preemptions, 1, "the vanished pod was already counted");
    });
  }

  it("a pod stuck Terminating on a lost node is force-deleted too", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const stuck = running(1, { deletedAt: clock.now() });
    const nodes = [aNode("spot-1", "False", clock.now())];
    const giveUp = pass(run, [stuck], clock.advance(31), { nodes });
    assert.equal(giveUp.status.attempts?.[0]?.endDetail, "NodeLost");
    run = afterWrite(run, giveUp);
    assert.equal(pass(run, [stuck], clock.now(), { nodes }).actions[0]?.kind, "deletePod");
    assert.equal(pass(run, [stuck], clock.now(), { nodes }).actions.find((a) => a.kind === "deletePod")?.gracePeriodSeconds, 0);
  });

  it("the timeout counts from when the node went NotReady, not from when the operator noticed", () => {
    const clock = new FakeClock();
    const nodes = [aNode("spot-1", "Unknown", clock.now())];
    const d = pass(aRun({}, startedStatus(1)), [running(1)], clock.advance(45), { nodes });
    assert.equal(d.status.attempts?.[0]?.endDetail, "NodeLost");
  });

  it("a node that recovers in time clears the clock", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const lost = pass(run, [running(1)], clock.advance(5), { nodes: [aNode("ondemand-1")] });
    assert.ok(lost.status.attempts?.[0]?.nodeLostAt !== undefined);
    run = afterWrite(run, lost);
    const back = pass(run, [running(1)], clock.advance(5), { nodes: [aNode("spot-1")] });
    assert.equal(back.status.attempts?.[0]?.nodeLostAt, undefined);
    run = afterWrite(run, back);
    const later = pass(run, [running(1)], clock.advance(60), { nodes: [aNode("ondemand-1")] });
    assert.equal(later.status.attempts?.[0]?.endTime, undefined, "a fresh timeout started");
  });

  it("a healthy node's Terminating pod is waited for, however long", () => {
    const clock = new FakeClock();
    const d = pass(aRun({}, startedStatus(1)), [running(1, { deletedAt: clock.now() })], clock.advance(600));
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
  });

  it("an empty node cache is no evidence: nothing is given up", () => {
    const d = pass(aRun({}, startedStatus(1)), [running(1)], new FakeClock().advance(3600), { nodes: [] });
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
    assert.equal(d.status.attempts?.[0]?.nodeLostAt, undefined);
    assert.deepEqual(d.actions, []);
  });
});
