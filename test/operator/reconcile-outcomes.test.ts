import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { T0, aPod, aRun, disruption, pass, running, startedStatus } from "./reconcile-fixtures.js";

const preempted = { reason: "preempted", step: 300, checkpoint: { step: 300, bytes: 1000 } };
const completed = { reason: "completed", step: 600, totalSteps: 600, weightsSha256: "abc", checkpoint: { step: 600 } };
const failedPod = (o: Parameters<typeof aPod>[1]) => aPod(1, { phase: "Failed", node: "spot-1", ...o });

/** Every way an attempt can end, and what it counts as. */
const table: { name: string; pod: V1Pod; endReason: string; detail: string }[] = [
  { name: "DisruptionTarget EvictionByEvictionAPI (drain, NTH, Karpenter)", pod: failedPod({ exitCode: 143, summary: preempted, conditions: [disruption("EvictionByEvictionAPI")] }), endReason: "Preempted", detail: "EvictionByEvictionAPI" },
  { name: "DisruptionTarget of any other reason", pod: failedPod({ exitCode: 137, conditions: [disruption("DeletionByTaintManager")] }), endReason: "Preempted", detail: "DeletionByTaintManager" },
  { name: "DisruptionTarget PreemptionByScheduler", pod: failedPod({ exitCode: 1, conditions: [disruption("PreemptionByScheduler")] }), endReason: "Preempted", detail: "PreemptionByScheduler" },
  { name: "pod reason Evicted (node pressure)", pod: failedPod({ exitCode: 143, reason: "Evicted" }), endReason: "Preempted", detail: "Evicted" },
  { name: "pod reason Terminated (graceful node shutdown)", pod: failedPod({ exitCode: 143, summary: preempted, reason: "Terminated" }), endReason: "Preempted", detail: "Terminated" },
  { name: "pod reason Shutdown", pod: failedPod({ exitCode: 143, reason: "Shutdown" }), endReason: "Preempted", detail: "Shutdown" },
  { name: "pod reason NodeLost", pod: failedPod({ reason: "NodeLost" }), endReason: "Preempted", detail: "NodeLost" },
  { name: "deleted by someone while running", pod: failedPod({ exitCode: 137, deletedAt: T0 }), endReason: "Preempted", detail: "PodDeleted" },
  { name: "exit 143 with a preempted summary", pod: failedPod({ exitCode: 143, summary: preempted }), endReason: "Preempted", detail: "TrainerPreempted" },
  { name: "exit 143 without a summary", pod: failedPod({ exitCode: 143 }), endReason: "Failed", detail: "ExitCode" },
  { name: "exit 1", pod: failedPod({ exitCode: 1, summary: { reason: "failed", step: 12 } }), endReason: "Failed", detail: "ExitCode" },
  { name: "OOMKilled", pod: failedPod({ exitCode: 137, terminatedReason: "OOMKilled" }), endReason: "Failed", detail: "OOMKilled" },
  { name: "exit 3: fenced by a newer attempt", pod: failedPod({ exitCode: 3 }), endReason: "Failed", detail: "Fenced" },
  { name: "exit 7: a peer lost, no peer known to be disrupted", pod: failedPod({ exitCode: 7 }), endReason: "Failed", detail: "PeerLost" },
  { name: "failed before the trainer ran (kubelet admission)", pod: aPod(1, { phase: "Failed", reason: "OutOfnvidia.com/gpu" }), endReason: "Failed", detail: "OutOfnvidia.com/gpu" },
  { name: "RunContainerError", pod: aPod(1, { node: "spot-1", waiting: "RunContainerError" }), endReason: "Failed", detail: "RunContainerError" },
  { name: "CreateContainerError", pod: aPod(1, { node: "spot-1", waiting: "CreateContainerError" }), endReason: "Failed", detail: "CreateContainerError" },
  { name: "ImagePullBackOff", pod: aPod(1, { node: "spot-1", waiting: "ImagePullBackOff" }), endReason: "Failed", detail: "ImagePullBackOff" },
  { name: "InvalidImageName", pod: aPod(1, { node: "spot-1", waiting: "InvalidImageName" }), endReason: "Failed", detail: "InvalidImageName" },
  { name: "exit 0 with a completed summary", pod: aPod(1, { phase: "Succeeded", exitCode: 0, summary: completed }), endReason: "Succeeded", detail: "Completed" },
  { name: "exit 0 on a pod marked for disruption is still a success", pod: aPod(1, { phase: "Succeeded", exitCode: 0, summary: completed, conditions: [disruption("EvictionByEvictionAPI")] }), endReason: "Succeeded", detail: "Completed" },
];

describe("reconcile: how an attempt ended", () => {
  for (const row of table) {
    it(`${row.name} → ${row.endReason} (${row.detail})`, () => {
      const d = pass(aRun({}, startedStatus(1)), [row.pod], T0);
      const record = d.status.attempts?.[0];
      assert.equal(record?.endReason, row.endReason);
      assert.equal(record?.endDetail, row.detail);
      assert.equal(record?.endTime, T0.toISOString());
      assert.equal(d.status.preemptions, row.endReason === "Preempted" ? 1 : 0);
      assert.equal(d.status.failures, row.endReason === "Failed" ? 1 : 0);
      const expectedEvent = { Preempted: "Preempted", Failed: "RetryingAfterFailure", Succeeded: "Succeeded" }[row.endReason];
      assert.ok(d.events.some((e) => e.reason === expectedEvent), `event ${expectedEvent} in ${JSON.stringify(d.events)}`);
    });
  }

  it("a still-running pod has not ended", () => {
    const d = pass(aRun({}, startedStatus(1)), [running(1)], T0);
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
    assert.equal(d.status.phase, "Running");
    assert.deepEqual(d.actions, []);
  });

  it("success records the trainer's summary as the result and finishes the run", () => {
    const d = pass(aRun({}, startedStatus(1)), [aPod(1, { phase: "Succeeded", exitCode: 0, summary: completed })], T0);
    assert.equal(d.status.phase, "Succeeded");
    assert.equal(d.status.result?.weightsSha256, "abc");
    assert.equal(d.status.completionTime, T0.toISOString());
    assert.equal(d.status.progress?.step, 600);
    assert.deepEqual(d.status.lastCheckpoint, { step: 600, time: T0.toISOString(), reason: "final" });
    const complete = d.status.conditions?.find((c) => c.type === "Complete");
    assert.equal(complete?.status, "True");
    assert.equal(d.status.conditions?.find((c) => c.type === "Running")?.status, "False");
    // A finished run starts nothing, even much later.
    const later = pass({ ...aRun(), status: d.status }, [aPod(1, { phase: "Succeeded", exitCode: 0, summary: completed })], new Date(T0.getTime() + 3600_000));
    assert.deepEqual(later.actions, []);
    assert.deepEqual(later.events, []);
  });

  it("the summary may be the last log line (FallbackToLogsOnError)", () => {
    const pod = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 143 });
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.ok(terminated);
    terminated.message = `step 299 loss 0.3\nstep 300 loss 0.29\n${JSON.stringify(preempted)}\n`;
    const record = pass(aRun({}, startedStatus(1)), [pod], T0).status.attempts?.[0];
    assert.equal(record?.endDetail, "TrainerPreempted");
    assert.equal(record?.reachedStep, 300);
  });

  it("exit 2 (the trainer rejected its config) fails the run at once: retrying cannot help", () => {
    const d = pass(aRun({}, startedStatus(1)), [failedPod({ exitCode: 2 })], T0);
    assert.equal(d.status.phase, "Failed");
    const failed = d.status.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.reason, "InvalidConfig");
    assert.match(failed?.message ?? "", /spec\.training or its environment/);
  });

  it("a pod that cannot start is deleted, but only in the pass after its failure was recorded", () => {
    const pod = aPod(1, { node: "spot-1", waiting: "ImagePullBackOff" });
    const recording = pass(aRun({}, startedStatus(1)), [pod], T0);
    assert.deepEqual(recording.actions, []);
    assert.ok(recording.requeueAfterMs !== undefined, "looks again soon to delete it");
    const next = pass({ ...aRun(), status: recording.status }, [pod], T0);
    assert.deepEqual(next.actions, [{ kind: "deletePod", name: "mnist-1", uid: "pod-uid-1", reason: "its attempt has ended" }]);
    assert.equal(next.status.failures, 1);
  });
});
