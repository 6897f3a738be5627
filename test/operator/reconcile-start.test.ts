import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { OPERATOR_ENV_NAMES } from "@resumable/protocol";
import type { Action } from "../../operator/src/model/types.js";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import { RUN_UID, SETTINGS, T0, aNode, aPod, aPvc, aRun, actionKinds, afterWrite, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

const createdPod = (actions: Action[]): V1Pod => {
  const create = actions.find((a) => a.kind === "createPod");
  assert.ok(create && create.kind === "createPod", "a createPod action");
  return create.pod;
};

describe("reconcile: starting attempts", () => {
  it("a new run gets its checkpoint PVC and the pod of attempt 1", () => {
    const d = pass(aRun(), [], T0, { pvc: null });
    assert.deepEqual(actionKinds(d), ["createPVC", "createPod"]);
    assert.equal(d.status.phase, "Pending");
    assert.equal(d.status.attempt, 1);
    assert.deepEqual(d.status.attempts, [{ attempt: 1, pod: "mnist-1", capacityType: "on-demand", capacityReason: "Spec" }]);
    assert.equal(d.status.startTime, T0.toISOString());
    assert.deepEqual(eventReasons(d), ["PodCreated"]);
  });

  it("a pod create refused for a reason that may pass (quota) leaves the run Pending with the reason, and no attempt", () => {
    const run = aRun();
    const d = reconcile(
      { run, location: checkpointLocation(run), pods: [], nodes: new Map([["spot-1", aNode("spot-1")]]), now: T0, podRefusal: { reason: "QuotaExceeded", message: "exceeded quota: gpu" } },
      SETTINGS,
    );
    assert.deepEqual(actionKinds(d), [], "the runtime retries the create; this decision only tells why the run waits");
    assert.equal(d.status.phase, "Pending");
    assert.equal(d.status.attempt, 0);
    assert.equal(d.status.attempts, undefined);
    const running = d.status.conditions?.find((c) => c.type === "Running");
    assert.equal(running?.reason, "QuotaExceeded");
    assert.match(running?.message ?? "", /attempt 1 cannot start yet: exceeded quota: gpu/);
    assert.deepEqual(eventReasons(d), [], "no PodCreated for a pod that does not exist");
  });

  it("the pod follows the trainer protocol", () => {
    const run = aRun({ preemption: { gracePeriodSeconds: 20 }, env: [{ name: "RESUMABLE_METRICS_PORT", value: "0" }] });
    const pod = createdPod(pass(run, [], T0).actions);
    assert.equal(pod.metadata?.name, "mnist-1");
    assert.deepEqual(pod.metadata?.labels, { "resumable.dev/run": "mnist", "resumable.dev/attempt": "1" });
    assert.deepEqual(pod.metadata?.ownerReferences, [
      { apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", name: "mnist", uid: "run-uid-1", controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(pod.spec?.restartPolicy, "Never");
    assert.equal(pod.spec?.terminationGracePeriodSeconds, 20);
    assert.equal(pod.spec?.serviceAccountName, "resumable-trainer");
    assert.deepEqual(pod.spec?.securityContext, { fsGroup: 1000, fsGroupChangePolicy: "OnRootMismatch" }, "a non-root trainer can write a fresh PVC");
    assert.deepEqual(pod.spec?.volumes, [
      { name: "checkpoints", persistentVolumeClaim: { claimName: "mnist-checkpoints" } },
      { name: "tmp", emptyDir: {} },
      {
        name: "checkpoint-request",
        downwardAPI: { items: [{ path: "checkpoint-request", fieldRef: { fieldPath: "metadata.annotations['resumable.dev/checkpoint-request']" } }] },
      },
    ]);
    const trainer = pod.spec?.containers[0];
    assert.equal(trainer?.image, "resumable/trainer:0.1.0");
    assert.deepEqual(trainer?.volumeMounts, [
      { name: "checkpoints", mountPath: "/checkpoints" },
      { name: "tmp", mountPath: "/tmp" },
      { name: "checkpoint-request", mountPath: "/etc/resumable/requests", readOnly: true },
    ]);
    const env = Object.fromEntries((trainer?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    assert.deepEqual(env, {
      RESUMABLE_CHECKPOINT_DIR: "/checkpoints",
      RESUMABLE_CONFIG: JSON.stringify({ model: "mlp", totalSteps: 600 }),
      RESUMABLE_RUN: "mnist",
      RESUMABLE_RUN_UID: RUN_UID,
      RESUMABLE_ATTEMPT: "1",
      RESUMABLE_POD_NAME: "metadata.name",
      RESUMABLE_POD_NAMESPACE: "metadata.namespace",
      RESUMABLE_POD_IP: "status.podIP",
      RESUMABLE_METRICS_PORT: "0",
    });
    assert.deepEqual(
      trainer?.env?.map((e) => e.name).filter((n) => n !== "RESUMABLE_METRICS_PORT"),
      [...OPERATOR_ENV_NAMES],
    );
  });

  it("the trainer runs as uid/gid 1000, non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp", () => {
    const pod = createdPod(pass(aRun(), [], T0).actions);
    assert.deepEqual(pod.spec?.containers[0]?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.ok(pod.spec?.containers[0]?.volumeMounts?.some((m) => m.mountPath === "/tmp" && m.name === "tmp"), "a writable /tmp");
  });

  it("spec.securityContext overrides the defaults field by field, pod-level fields on the pod", () => {
    const run = aRun({
      securityContext: {
        runAsUser: 2000,
        fsGroup: 3000,
        supplementalGroups: [4000],
        readOnlyRootFilesystem: false,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
        seccompProfile: { type: "Localhost", localhostProfile: "profiles/trainer.json" },
      },
    });
    const pod = createdPod(pass(run, [], T0).actions);
    assert.deepEqual(pod.spec?.securityContext, { fsGroup: 3000, fsGroupChangePolicy: "OnRootMismatch", supplementalGroups: [4000] });
    assert.deepEqual(pod.spec?.containers[0]?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 2000,
      runAsGroup: 1000,
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      seccompProfile: { type: "Localhost", localhostProfile: "profiles/trainer.json" },
    });
  });

  it("resources are passed as quantities, nvidia.com/gpu included", () => {
    const run = aRun({ resources: { limits: { "nvidia.com/gpu": 1, memory: "2Gi" } } });
    assert.deepEqual(createdPod(pass(run, [], T0).actions).spec?.containers[0]?.resources, {
      limits: { "nvidia.com/gpu": "1", memory: "2Gi" },
      requests: undefined,
    });
  });

  it("spot: true requires a spot node of any cloud and tolerates their taints, ANDed with the user's affinity", () => {
    const userTerm = { matchExpressions: [{ key: "gpu", operator: "In", values: ["a100"] }] };
    const run = aRun({
      scheduling: {
        spot: true,
        tolerations: [{ key: "team", operator: "Exists" }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [userTerm] } } },
      },
    });
    const spec = createdPod(pass(run, [], T0).actions).spec;
    const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.deepEqual(
      terms.map((t) => t.matchExpressions?.map((e) => e.key)),
      [
        ["gpu", "cloud.google.com/gke-spot"],
        ["gpu", "cloud.google.com/gke-preemptible"],
        ["gpu", "karpenter.sh/capacity-type"],
        ["gpu", "eks.amazonaws.com/capacityType"],
        ["gpu", "kubernetes.azure.com/scalesetpriority"],
      ],
    );
    assert.deepEqual(
      spec?.tolerations?.map((t) => t.key),
      ["team", "cloud.google.com/gke-spot", "kubernetes.azure.com/scalesetpriority"],
    );
  });

  it("without spot the scheduling fields pass through untouched", () => {
    const run = aRun({ scheduling: { nodeSelector: { pool: "gpu" }, priorityClassName: "batch" } });
    const spec = createdPod(pass(run, [], T0).actions).spec;
    assert.deepEqual(spec?.nodeSelector, { pool: "gpu" });
    assert.equal(spec?.priorityClassName, "batch");
    assert.equal(spec?.affinity, undefined);
    assert.equal(spec?.tolerations, undefined);
  });

  it("the created PVC is owned by the run only when retainOnDelete is false", () => {
    for (const retainOnDelete of [true, false]) {
      const d = pass(aRun({ checkpoint: { retainOnDelete, volume: { size: "5Gi", storageClassName: "fast" } } }), [], T0, { pvc: null });
      const create = d.actions.find((a) => a.kind === "createPVC");
      assert.ok(create?.kind === "createPVC");
      assert.equal(create.pvc.metadata?.ownerReferences?.length ?? 0, retainOnDelete ? 0 : 1);
      assert.deepEqual(create.pvc.spec, {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "fast",
        resources: { requests: { storage: "5Gi" } },
      });
    }
  });

  it("an existing claimName is used, never created; while it is missing the run waits and polls", () => {
    const run = aRun({ checkpoint: { claimName: "shared" } });
    const waiting = pass(run, [], T0, { pvc: null });
    assert.deepEqual(waiting.actions, []);
    assert.equal(waiting.status.phase, "Pending");
    assert.equal(waiting.status.attempt ?? 0, 0);
    assert.ok(waiting.requeueAfterMs !== undefined);
    assert.match(waiting.status.conditions?.find((c) => c.type === "Running")?.reason ?? "", /ClaimNotFound/);

    const d = pass(run, [], T0, { pvc: aPvc("shared") });
    assert.deepEqual(actionKinds(d), ["createPod"]);
    assert.equal(createdPod(d.actions).spec?.volumes?.[0]?.persistentVolumeClaim?.claimName, "shared");
  });

  it("a pod created but not yet in the cache is created again, with no second record or event", () => {
    const first = pass(aRun(), [], T0);
    const d = pass(afterWrite(aRun(), first), [], T0);
    assert.deepEqual(actionKinds(d), ["createPod"]);
    assert.equal(createdPod(d.actions).metadata?.name, "mnist-1");
    assert.deepEqual(d.status.attempts, first.status.attempts);
    assert.deepEqual(d.events, []);
  });

  it("a pod newer than status knows (a lost status write) is adopted, not duplicated", () => {
    const d = pass(aRun({}, startedStatus(1, { attempts: [{ attempt: 1, pod: "mnist-1", endTime: T0.toISOString(), endReason: "Preempted" }] })), [running(2)], T0);
    assert.equal(d.status.attempt, 2);
    assert.deepEqual(actionKinds(d), []);
    assert.deepEqual(d.status.attempts?.map((a) => a.pod), ["mnist-1", "mnist-2"]);
    assert.equal(d.status.phase, "Running");
  });

  it("a pod left by an earlier run of the same name blocks the first attempt until it is gone", () => {
    const leftover = aPod(3, { phase: "Running", node: "spot-1", ownerUid: "old-run", deletedAt: T0 });
    const d = pass(aRun(), [leftover], T0);
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.attempt, 0);
    assert.equal(d.status.phase, "Pending");
  });

  it("accepts timestamps as Date objects (lists) and strings (watch events) alike", () => {
    const asDate = running(1, { startTime: new Date("2026-11-28T11:59:00.000Z") });
    const asString = running(1, { startTime: "2026-11-28T11:59:00.000Z" });
    const run = aRun({}, startedStatus(1));
    assert.deepEqual(pass(run, [asString], T0), pass(run, [asDate], T0));
    assert.equal(pass(run, [asString], T0).status.attempts?.[0]?.startTime, "2026-11-28T11:59:00.000Z");
  });

  it("a start seen as it happens is stamped by the clock, not the kubelet's truncated second", () => {
    const stamped = new Date(Math.floor(T0.getTime() / 1000) * 1000 - 1000); // whole seconds, as the kubelet writes it
    const now = new Date(stamped.getTime() + 1400);
    const run = aRun({}, startedStatus(1));
    assert.equal(pass(run, [running(1, { startTime: stamped })], now).status.attempts?.[0]?.startTime, now.toISOString());
  });

  it("an unschedulable pod's reason shows in the Running condition", () => {
    const pod = aPod(1);
    pod.status = { ...pod.status, conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available" }] };
    const d = pass(aRun({}, startedStatus(1)), [pod], T0);
    assert.equal(d.status.phase, "Pending");
    assert.deepEqual(
      d.status.conditions?.filter((c) => c.type === "Running").map((c) => [c.reason, c.message]),
      [["Unschedulable", "0/3 nodes are available"]],
    );
  });

  it("a run being deleted starts no new attempt", () => {
    const run = aRun();
    run.metadata.deletionTimestamp = T0;
    assert.deepEqual(pass(run, [], T0).actions, []);
  });
});
