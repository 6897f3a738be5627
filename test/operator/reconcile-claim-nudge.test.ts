import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { SCHEDULER_NUDGE_ANNOTATION } from "../../operator/src/reconcile/claim-nudge.js";
import { FakeClock, aPod, aPvc, aRun, actionKinds, pass, startedStatus } from "./reconcile-fixtures.js";

/** kube-scheduler's verdict on a pod whose Immediate claim it read as unbound. */
const UNBOUND = {
  type: "PodScheduled",
  status: "False",
  reason: "Unschedulable",
  message: "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found",
};

/** The operator's claim (labelled with its run), in `phase`, maybe already touched for a pod. */
function claim(phase: "Bound" | "Pending", nudgedFor?: string, labels: Record<string, string> = { "resumable.dev/run": "mnist" }): V1PersistentVolumeClaim {
  const base = aPvc();
  return {
    ...base,
    metadata: { ...base.metadata, uid: "claim-uid", labels, ...(nudgedFor ? { annotations: { [SCHEDULER_NUDGE_ANNOTATION]: nudgedFor } } : {}) },
    status: { phase },
  };
}

describe("reconcile: a pod the scheduler left waiting for a claim that is bound (kube-scheduler's stale claim cache)", () => {
  const clock = new FakeClock();
  const run = aRun({}, startedStatus(1));
  const waiting = aPod(1, { conditions: [UNBOUND as never] });

  it("touches the claim once, pinned to its uid, naming the pod: the update makes the scheduler try the pod again", () => {
    const d = pass(run, [waiting], clock.now(), { pvc: claim("Bound") });
    const nudge = d.actions.find((a) => a.kind === "annotateClaim");
    assert.ok(nudge && nudge.kind === "annotateClaim", `actions: ${actionKinds(d).join(", ")}`);
    assert.deepEqual({ name: nudge.name, uid: nudge.uid, annotation: nudge.annotation, value: nudge.value }, {
      name: "mnist-checkpoints",
      uid: "claim-uid",
      annotation: SCHEDULER_NUDGE_ANNOTATION,
      value: "pod-uid-1",
    });
    assert.match(nudge.purpose, /pod mnist-1/);
  });

  it("not again for the same pod once the claim carries its uid", () => {
    assert.deepEqual(actionKinds(pass(run, [waiting], clock.now(), { pvc: claim("Bound", "pod-uid-1") })).filter((k) => k === "annotateClaim"), []);
  });

  it("not while the claim is really unbound: the binding's own event will bring the scheduler back", () => {
    assert.deepEqual(actionKinds(pass(run, [waiting], clock.now(), { pvc: claim("Pending") })).filter((k) => k === "annotateClaim"), []);
  });

  it("never a claim the operator did not create (a user's claimName carries no run label)", () => {
    assert.deepEqual(actionKinds(pass(run, [waiting], clock.now(), { pvc: claim("Bound", undefined, {}) })).filter((k) => k === "annotateClaim"), []);
  });

  it("not for a pod unschedulable for another reason, nor for a pod already placed", () => {
    const noGpu = aPod(1, { conditions: [{ ...UNBOUND, message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." } as never] });
    assert.deepEqual(actionKinds(pass(run, [noGpu], clock.now(), { pvc: claim("Bound") })).filter((k) => k === "annotateClaim"), []);
    const placed = aPod(1, { node: "spot-1", conditions: [UNBOUND as never] });
    assert.deepEqual(actionKinds(pass(run, [placed], clock.now(), { pvc: claim("Bound") })).filter((k) => k === "annotateClaim"), []);
  });
});
