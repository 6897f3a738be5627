import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHECKPOINT_REQUEST_ANNOTATION } from "@resumable/protocol";
import { noticesOn, DEFAULT_NOTICE_SIGNALS } from "../../operator/src/controller/notice.js";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import type { Observed } from "../../operator/src/reconcile/types.js";
import { FakeClock, SETTINGS, aNode, aPvc, aRun, afterWrite, eventReasons, running, startedStatus } from "./reconcile-fixtures.js";

const noticed = () => {
  const node = aNode("spot-1");
  node.spec = { taints: [{ key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] };
  return node;
};

function passWith(run: ReturnType<typeof aRun>, pod: ReturnType<typeof running>, now: Date): ReturnType<typeof reconcile> {
  const nodes = new Map([["spot-1", noticed()]]);
  const observed: Observed = { run, pods: [pod], nodes, notices: noticesOn(nodes, DEFAULT_NOTICE_SIGNALS), now, pvc: aPvc() };
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
    assert.equal(action.kind, "requestCheckpoint");
    const request = action.kind === "requestCheckpoint" ? JSON.parse(action.value) : undefined;
    assert.equal(request.id, "aws-spot-itn@spot-1");
    assert.equal(first.status.attempts?.[0]?.noticeSource, "aws-spot-itn");
    assert.equal(first.status.attempts?.[0]?.noticeAt, clock.now().toISOString());
    run = afterWrite(run, first);

    // The pod now carries the request and the trainer reports its early checkpoint.
    const asked = running(1, { progress: { step: 41, checkpoint: { step: 41 }, earlyCheckpoint: { requestId: request.id, step: 41, time: clock.now().toISOString() } } });
    asked.metadata!.annotations![CHECKPOINT_REQUEST_ANNOTATION] = action.kind === "requestCheckpoint" ? action.value : "";
    const second = passWith(run, asked, clock.advance(5));
    assert.deepEqual(second.actions, [], "asked once per notice");
    assert.deepEqual(eventReasons(second), ["EarlyCheckpoint"]);
    assert.equal(second.status.attempts?.[0]?.earlyCheckpointStep, 41);
    run = afterWrite(run, second);

    const again = passWith(run, asked, clock.advance(1));
    assert.deepEqual([again.actions, eventReasons(again)], [[], []], "nothing new: no action, no event");
  });
});
