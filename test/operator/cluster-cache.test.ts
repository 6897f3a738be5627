// What the operator's cache keeps of a node: what reconcile and the notice rules read
// (labels, taints, conditions, the cordon), not its image list or managed fields.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Node } from "@kubernetes/client-node";
import { trimNode } from "../../operator/src/controller/cluster-cache.js";

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
        conditions: [{ type: "Ready", status: "True" }],
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
