import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHECKPOINT_REQUEST_ANNOTATION } from "@resumable/protocol";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import type { Observed } from "../../operator/src/model/types.js";
import { FakeClock, SETTINGS, aNode, aPod, aPvc, aRun, afterWrite, disruption, eventReasons, running, startedStatus } from "./reconcile-fixtures.js";

const noticed = () => {
  const node = aNode("spot-1");
  node.spec = { taints: [{ key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] };
  return node;
};

function passWith(run: ReturnType<typeof aRun>, pod: ReturnType<typeof running>, now: Date): ReturnType<typeof reconcile> {
  const nodes = new Map([["spot-1", noticed()]]);
  const observed: Observed = { run, location: checkpointLocation(run), pods: [pod], nodes, now, pvc: aPvc() };
  return reconcile(observed, SETTINGS);
}

describe("reconcile: a reclaim notice on the node of a running attempt", () => {
  it("asks the trainer for a checkpoint once, records the notice and the early checkpoint, and the lead time at the end", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const pod = running(1);

    const first = passWith(run, pod, clock.advance(1));
    assert.deepEqual(eventReasons(first), ["ReclaimNotice"]);
    assert.equal(first.actions.length, 1);
    const action = first.actions[0]!;
    assert.equal(action.kind, "annotatePod");
    const request = action.kind === "annotatePod" ? JSON.parse(action.value) : undefined;
    assert.equal(request.id, "aws-spot-itn@spot-1");
    assert.equal(first.status.attempts?.[0]?.noticeSource, "aws-spot-itn");
    assert.equal(first.status.attempts?.[0]?.noticeAt, clock.now().toISOString());
    run = afterWrite(run, first);

    // The pod now carries the request and the trainer reports its early checkpoint.
    const asked = running(1, { progress: { step: 41, checkpoint: { step: 41 }, earlyCheckpoint: { requestId: request.id, step: 41, time: clock.now().toISOString() } } });
    asked.metadata!.annotations![CHECKPOINT_REQUEST_ANNOTATION] = action.kind === "annotatePod" ? action.value : "";
    const second = passWith(run, asked, clock.advance(5));
    assert.deepEqual(second.actions, [], "asked once per notice");
    assert.deepEqual(eventReasons(second), ["EarlyCheckpoint"]);
    assert.equal(second.status.attempts?.[0]?.earlyCheckpointStep, 41);
    run = afterWrite(run, second);

    const again = passWith(run, asked, clock.advance(1));
    assert.deepEqual([again.actions, eventReasons(again)], [[], []], "nothing new: no action, no event");
  });

  it("records the early checkpoint first seen on a pod the reclaim already ended", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const first = passWith(run, running(1), clock.advance(1));
    run = afterWrite(run, first);
    // The report of the early checkpoint and the shutdown reach the operator in one pass.
    const ended = aPod(1, {
      phase: "Failed", node: "spot-1", exitCode: 137, conditions: [disruption("TerminationByKubelet")],
      progress: { step: 42, checkpoint: { step: 42 }, earlyCheckpoint: { requestId: "aws-spot-itn@spot-1", step: 42, time: clock.now().toISOString() } },
    });
    const second = passWith(run, ended, clock.advance(5));
    const attempt = second.status.attempts?.[0];
    assert.equal(attempt?.endReason, "Preempted");
    assert.equal(attempt?.earlyCheckpointStep, 42);
    assert.equal(attempt?.noticeLeadSeconds, 5, "from the notice to the attempt's end");
    assert.ok(eventReasons(second).includes("EarlyCheckpoint"), eventReasons(second).join(", "));
  });
});
