// What the operator's cache keeps of a node: what reconcile and the notice rules read
// (labels, taints, conditions, the cordon), not its image list, managed fields or heartbeats;
// and which changes queue a run's pass, and how soon.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { changePriority, isHeartbeatOnly, trimNode } from "../../operator/src/controller/change-priority.js";

describe("cluster cache: nodes", () => {
  it("drops a node's images and managedFields, keeps its labels, taints, conditions and cordon", () => {
    const node: V1Node = {
      metadata: {
        name: "spot-a",
        labels: { "topology.kubernetes.io/zone": "us-central1-a" },
        managedFields: [{ manager: "kubelet", operation: "Update" }],
      },
      spec: { unschedulable: true, taints: [{ key: "cloud.google.com/impending-node-termination", effect: "NoSchedule" }] },
      status: {
        conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: new Date("2026-12-01T04:00:00Z") }],
        images: [{ names: ["nvcr.io/nvidia/pytorch:24.01-py3"], sizeBytes: 9e9 }],
      },
    };
    trimNode(node);
    assert.equal(node.status?.images, undefined);
    assert.equal(node.metadata?.managedFields, undefined);
    assert.deepEqual(node.metadata?.labels, { "topology.kubernetes.io/zone": "us-central1-a" });
    assert.equal(node.spec?.unschedulable, true);
    assert.equal(node.spec?.taints?.[0]?.key, "cloud.google.com/impending-node-termination");
    assert.deepEqual(node.status?.conditions, [{ type: "Ready", status: "True" }]);
  });
});

/** A running trainer pod at resourceVersion `rv`, with `annotations`. */
function pod(rv: string, annotations: Record<string, string> = {}, phase = "Running"): V1Pod {
  return {
    metadata: { name: "run-a-1", namespace: "ml", resourceVersion: rv, labels: { "resumable.dev/run": "run-a" }, annotations },
    spec: { nodeName: "spot-a", containers: [{ name: "trainer", image: "trainer" }] },
    status: { phase },
  };
}

function node(rv: string, ready: string, heartbeat: string, taints: V1Node["spec"] = {}): V1Node {
  const n: V1Node = {
    metadata: { name: "spot-a", resourceVersion: rv },
    spec: taints,
    status: { conditions: [{ type: "Ready", status: ready, lastHeartbeatTime: new Date(heartbeat), lastTransitionTime: new Date("2026-12-01T00:00:00Z") }] },
  };
  trimNode(n);
  return n;
}

describe("cluster cache: which changes queue a run, and how soon", () => {
  const progress = (step: number) => ({ "resumable.dev/progress": JSON.stringify({ step }) });

  it("a progress report after the first is routine; the first report is urgent", () => {
    assert.equal(changePriority({ type: "Apply", old: pod("1", progress(100)), object: pod("2", progress(200)) }), "routine");
    assert.equal(changePriority({ type: "Apply", old: pod("1"), object: pod("2", progress(100)) }), "urgent", "the first report sets ProgressReported");
  });

  it("a report that says more than how far training got is urgent: a checkpoint, a checkpoint failure, a notice's checkpoint", () => {
    const report = (extra: Record<string, unknown>) => ({ "resumable.dev/progress": JSON.stringify({ step: 200, loss: 0.5, updatedAt: "2026-12-01T05:00:00Z", ...extra }) });
    const before = pod("1", report({ step: 100, checkpoint: { step: 100 } }));
    assert.equal(changePriority({ type: "Apply", old: before, object: pod("2", report({ checkpoint: { step: 100 } })) }), "routine", "same checkpoint: training moved on");
    assert.equal(changePriority({ type: "Apply", old: before, object: pod("2", report({ checkpoint: { step: 200 } })) }), "urgent", "a new checkpoint");
    const failure = { checkpointFailure: { since: "2026-12-01T05:00:00Z", failures: 1, message: "EIO: i/o error, write" } };
    assert.equal(changePriority({ type: "Apply", old: before, object: pod("2", report({ checkpoint: { step: 100 }, ...failure })) }), "urgent", "a checkpoint failure");
    assert.equal(changePriority({ type: "Apply", old: before, object: pod("2", report({ checkpoint: { step: 100 }, earlyCheckpoint: { requestId: "n1", step: 150, time: "2026-12-01T05:00:00Z" } })) }), "urgent", "a notice's checkpoint");
    assert.equal(changePriority({ type: "Apply", old: before, object: pod("2", { "resumable.dev/progress": "not json" }) }), "urgent", "a report that does not parse");
  });

  it("a report that comes with any other change is urgent: the pod ending, another annotation", () => {
    assert.equal(changePriority({ type: "Apply", old: pod("1", progress(100)), object: pod("2", progress(200), "Failed") }), "urgent");
    const asked = { ...progress(200), "resumable.dev/checkpoint-request": "n1" };
    assert.equal(changePriority({ type: "Apply", old: pod("1", progress(100)), object: pod("2", asked) }), "urgent");
  });

  it("a new object, a deletion and any other update are urgent; a resync's unchanged object is routine", () => {
    assert.equal(changePriority({ type: "Apply", old: undefined, object: pod("1") }), "urgent");
    assert.equal(changePriority({ type: "Delete", object: pod("1", progress(100)) }), "urgent");
    assert.equal(changePriority({ type: "Apply", old: pod("1"), object: pod("2", {}, "Succeeded") }), "urgent");
    const same = pod("7", progress(100));
    assert.equal(changePriority({ type: "Apply", old: same, object: pod("7", progress(100)) }), "routine");
  });

  it("a node heartbeat concerns no run; a condition's change, a taint or the cordon does", () => {
    const before = node("1", "True", "2026-12-01T04:00:00Z");
    assert.equal(isHeartbeatOnly({ type: "Apply", old: before, object: node("2", "True", "2026-12-01T04:00:40Z") }), true);
    assert.equal(isHeartbeatOnly({ type: "Apply", old: before, object: node("2", "False", "2026-12-01T04:00:40Z") }), false);
    const tainted = { taints: [{ key: "cloud.google.com/impending-node-termination", effect: "NoSchedule" }] };
    assert.equal(isHeartbeatOnly({ type: "Apply", old: before, object: node("2", "True", "2026-12-01T04:00:40Z", tainted) }), false);
    assert.equal(isHeartbeatOnly({ type: "Apply", old: before, object: node("2", "True", "2026-12-01T04:00:40Z", { unschedulable: true }) }), false);
    assert.equal(isHeartbeatOnly({ type: "Delete", object: before }), false);
    assert.equal(isHeartbeatOnly({ type: "Apply", old: before, object: node("1", "True", "2026-12-01T04:00:00Z") }), false, "a resync still reaches the runs (as routine)");
  });
});
