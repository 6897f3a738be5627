// Whether a cached node could take a pod (placement.ts): the judgement a return to spot is
// made on, before a healthy on-demand pod is stopped.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Node, V1Pod, V1Taint } from "@kubernetes/client-node";
import { DEFAULT_NOTICE_SIGNALS } from "../../operator/src/model/notice.js";
import { nodeFor, quantityValue, whyNot } from "../../operator/src/reconcile/placement.js";

const spotNode = (o: { name?: string; gpus?: string; taints?: V1Taint[]; cordoned?: boolean; ready?: string; labels?: Record<string, string> } = {}): V1Node => ({
  metadata: { name: o.name ?? "spot-a", labels: o.labels ?? { "karpenter.sh/capacity-type": "spot" } },
  spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.cordoned ? { unschedulable: true } : {}) },
  status: { conditions: [{ type: "Ready", status: o.ready ?? "True" }], allocatable: { cpu: "8", memory: "32Gi", "nvidia.com/gpu": o.gpus ?? "1" } },
});

const aPod = (gpus = "1", uid = "new"): V1Pod => ({
  metadata: { uid },
  spec: {
    containers: [{ name: "trainer", resources: { limits: { "nvidia.com/gpu": gpus }, requests: { cpu: "500m", memory: "2Gi" } } }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }] }] } } },
  },
});

const why = (node: V1Node, pod = aPod(), others: V1Pod[] = []) => whyNot(node, pod, others, DEFAULT_NOTICE_SIGNALS);

describe("placement: could this node take the pod", () => {
  it("a ready spot node with a free GPU could", () => {
    assert.equal(why(spotNode()), undefined);
  });

  it("not a node that is NotReady, cordoned or under a reclaim notice", () => {
    assert.equal(why(spotNode({ ready: "Unknown" })), "not Ready");
    assert.equal(why(spotNode({ cordoned: true })), "cordoned");
    assert.match(why(spotNode({ taints: [{ key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] })) ?? "", /reclaim notice/);
  });

  it("not a node whose labels miss the pod's selector or affinity, or whose taint the pod does not tolerate", () => {
    assert.match(why(spotNode({ labels: { "karpenter.sh/capacity-type": "on-demand" } })) ?? "", /affinity/);
    assert.match(why(spotNode(), { ...aPod(), spec: { ...aPod().spec!, nodeSelector: { pool: "spot-gpu" } } }) ?? "", /no label pool=spot-gpu/);
    const tainted = spotNode({ taints: [{ key: "example.com/spot", value: "true", effect: "NoSchedule" }] });
    assert.match(why(tainted) ?? "", /untolerated taint example.com\/spot=true:NoSchedule/);
    const tolerating = { ...aPod(), spec: { ...aPod().spec!, tolerations: [{ key: "example.com/spot", operator: "Exists" }] } };
    assert.equal(why(tainted, tolerating), undefined);
  });

  it("not a node whose GPUs the cached pods already take; a terminated pod and the pod itself take none", () => {
    const busy: V1Pod = { ...aPod("1", "other"), status: { phase: "Running" } };
    assert.match(why(spotNode(), aPod(), [busy]) ?? "", /no room for nvidia.com\/gpu \(1 wanted, 0 free\)/);
    assert.equal(why(spotNode(), aPod(), [{ ...busy, status: { phase: "Failed" } }]), undefined);
    assert.equal(why(spotNode({ gpus: "2" }), aPod(), [busy]), undefined);
    assert.match(why(spotNode(), aPod("2")) ?? "", /no room/);
  });

  it("nodeFor names a node that fits, or counts why none does", () => {
    const nodes = new Map([
      ["a", spotNode({ name: "a", cordoned: true })],
      ["b", spotNode({ name: "b" })],
    ]);
    assert.deepEqual(nodeFor(aPod(), nodes, () => [], DEFAULT_NOTICE_SIGNALS), { node: "b" });
    nodes.set("b", spotNode({ name: "b", cordoned: true }));
    assert.deepEqual(nodeFor(aPod(), nodes, () => [], DEFAULT_NOTICE_SIGNALS), { none: "0/2 nodes could take it: 2 cordoned" });
  });

  it("reads resource quantities as the apiserver writes them", () => {
    assert.deepEqual(["500m", "2", "1Gi", "1.5k", "1e3", 4, "x"].map(quantityValue), [0.5, 2, 2 ** 30, 1500, 1000, 4, Number.NaN]);
  });
});
