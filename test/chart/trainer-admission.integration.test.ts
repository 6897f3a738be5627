// The chart's trainer permissions on a real apiserver: a trainer's token, bound to its own
// pod as the kubelet's projected token is, may patch that pod's progress annotation and
// nothing else. The Role alone would let it patch any pod of the namespace; the shipped
// ValidatingAdmissionPolicy refuses the rest, each with its own message.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { eventually, useCluster } from "../support/cluster.js";
import { NAMESPACE, renderChart } from "./render.js";

const TRAINER_SA = "resumable-trainer";
const POLICY = "resumable-trainer-progress";
const PROGRESS = "resumable.dev/progress";

/** The chart's objects that make up the trainer's permissions, nothing of the operator's. */
const TRAINER_OBJECTS = new Set([
  `ServiceAccount/${TRAINER_SA}`,
  `Role/${TRAINER_SA}`,
  `RoleBinding/${TRAINER_SA}`,
  `ValidatingAdmissionPolicy/${POLICY}`,
  `ValidatingAdmissionPolicyBinding/${POLICY}`,
]);

// A cluster of its own, not the shared one: the chart's ValidatingAdmissionPolicy and its binding are cluster-wide.
const c = useCluster({ withKubelet: false });

/** A pod like the operator's trainer pods; it is never scheduled (no kubelet), which the API does not mind. */
function trainerPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { "resumable.dev/run": name, "resumable.dev/attempt": "1" }, annotations: { "example.com/owner": "team-a" } },
    spec: { serviceAccountName: TRAINER_SA, containers: [{ name: "trainer", image: "resumable/trainer:0.1.0" }] },
  };
}

/** An API client authenticated as the trainer ServiceAccount with a token bound to `pod`. */
async function trainerClient(pod: V1Pod): Promise<CoreV1Api> {
  const token = await c.core.createNamespacedServiceAccountToken({
    name: TRAINER_SA,
    namespace: NAMESPACE,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name, uid: pod.metadata?.uid },
      },
    },
  });
  const cluster = c.kc.getCurrentCluster();
  assert.ok(cluster && token.status?.token);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "trainer", token: token.status.token }],
    contexts: [{ name: "trainer", cluster: cluster.name, user: "trainer" }],
    currentContext: "trainer",
  });
  return kc.makeApiClient(CoreV1Api);
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

/** The apiserver's answer to a patch of the pod: "ok", or its status code and Status message. */
async function patchPod(api: CoreV1Api, name: string, body: object, options: { dryRun?: "All"; json?: boolean } = {}): Promise<string> {
  try {
    await api.patchNamespacedPod({ name, namespace: NAMESPACE, body, ...(options.dryRun ? { dryRun: options.dryRun } : {}) }, options.json ? jsonPatch : mergePatch);
    return "ok";
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === "string" ? (JSON.parse(err.body) as { message?: string }) : (err.body as { message?: string });
    return `${err.code} ${body?.message ?? ""}`;
  }
}

/** A merge patch of the pod's metadata. */
function patch(api: CoreV1Api, name: string, metadata: Record<string, unknown>, dryRun?: "All"): Promise<string> {
  return patchPod(api, name, { metadata }, dryRun ? { dryRun } : {});
}

const progress = (step: number) => ({ annotations: { [PROGRESS]: JSON.stringify({ step, totalSteps: 600, epoch: 1, loss: 0.5, resumedFromStep: null, checkpoint: null }) } });

describe("chart: a trainer may patch only its own pod's progress annotation", { timeout: 10 * 60_000 }, () => {
  let podA: V1Pod;
  let asTrainerOfA: CoreV1Api;

  before(async () => {
    await c.kubectl(["create", "namespace", NAMESPACE]);
    const objects = (await renderChart()).filter((o) => TRAINER_OBJECTS.has(`${o.kind}/${o.metadata.name}`));
    assert.equal(objects.length, TRAINER_OBJECTS.size, "the chart renders every trainer object");
    await c.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    podA = await c.core.createNamespacedPod({ namespace: NAMESPACE, body: trainerPod("trainer-a") });
    await c.core.createNamespacedPod({ namespace: NAMESPACE, body: trainerPod("trainer-b") });
    asTrainerOfA = await trainerClient(podA);
    // The policy takes effect once the apiserver has compiled it: probe with a dry run.
    await eventually("the admission policy in force", async () =>
      (await patch(asTrainerOfA, "trainer-b", progress(1), "All")).startsWith("403") || undefined,
    );
  });

  it("the policy type-checks against the Pod schema without warnings", async () => {
    const policy = JSON.parse(await c.kubectl(["get", "validatingadmissionpolicy", POLICY, "-o", "json"])) as {
      status?: { typeChecking?: { expressionWarnings?: unknown[] } };
    };
    assert.deepEqual(policy.status?.typeChecking?.expressionWarnings ?? [], []);
  });

  it("allowed: its own pod's progress annotation", async () => {
    assert.equal(await patch(asTrainerOfA, "trainer-a", progress(10)), "ok");
    const pod = await c.core.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE });
    assert.equal(JSON.parse(pod.metadata?.annotations?.[PROGRESS] ?? "{}").step, 10);
  });

  it("refused: the progress annotation of another pod", async () => {
    const answer = await patch(asTrainerOfA, "trainer-b", progress(999));
    assert.match(answer, /^403 /);
    assert.match(answer, new RegExp(`ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request`));
    assert.match(answer, /a trainer may patch only its own pod: system:serviceaccount:resumable-system:resumable-trainer holds a token bound to pod trainer-a, not trainer-b/);
    const b = await c.core.readNamespacedPod({ name: "trainer-b", namespace: NAMESPACE });
    assert.equal(b.metadata?.annotations?.[PROGRESS], undefined, "pod B untouched");
  });

  it("refused: another annotation of its own pod, added or changed", async () => {
    for (const annotations of [{ "resumable.dev/other": "x" }, { "example.com/owner": "team-b" }]) {
      const answer = await patch(asTrainerOfA, "trainer-a", { annotations });
      assert.match(answer, /^403 /, JSON.stringify(annotations));
      assert.match(answer, /a trainer may change only its pod's resumable\.dev\/progress annotation/);
    }
  });

  it("refused: a label of its own pod (which could hand the pod to another run)", async () => {
    const answer = await patch(asTrainerOfA, "trainer-a", { labels: { "resumable.dev/run": "someone-else" } });
    assert.match(answer, /^403 /);
    assert.match(answer, /a trainer may not change its pod's labels/);
    const a = await c.core.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE });
    assert.equal(a.metadata?.labels?.["resumable.dev/run"], "trainer-a");
  });

  /**
   * Changes the API itself accepts on a running pod (an admin's dry run shows it), so that
   * the 403 is the policy's and not the pod validation's 422.
   */
  const specChanges: [string, () => Promise<{ body: object; json?: boolean }>][] = [
    ["its container's image", async () => ({ body: [{ op: "replace", path: "/spec/containers/0/image", value: "registry.example.com/evil:1" }], json: true })],
    ["a toleration added (which could keep it on a node being reclaimed)", async () => {
      const pod = await c.core.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE });
      return { body: { spec: { tolerations: [...(pod.spec?.tolerations ?? []), { key: "example.com/spot", operator: "Exists", effect: "NoSchedule" }] } } };
    }],
    ["activeDeadlineSeconds", async () => ({ body: { spec: { activeDeadlineSeconds: 1 } } })],
    ["an ownerReference added (which could hand the pod to another run)", async () => ({
      body: { metadata: { ownerReferences: [{ apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", name: "someone-else", uid: "00000000-0000-0000-0000-000000000001", controller: true }] } },
    })],
    ["a finalizer added (which could keep the pod from being deleted)", async () => ({ body: { metadata: { finalizers: ["example.com/keep"] } } })],
  ];
  for (const [what, change] of specChanges) {
    it(`refused: ${what}`, async () => {
      const { body, json } = await change();
      const before = await c.core.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE });
      assert.equal(await patchPod(c.core, "trainer-a", body, { dryRun: "All", ...(json ? { json } : {}) }), "ok", "the API itself accepts the change");
      const answer = await patchPod(asTrainerOfA, "trainer-a", body, json ? { json } : {});
      assert.match(answer, /^403 /);
      assert.match(answer, new RegExp(`ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: a trainer may not change its pod's spec, owners or finalizers`));
      const after = await c.core.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE });
      assert.deepEqual([after.spec, after.metadata?.ownerReferences, after.metadata?.finalizers], [before.spec, before.metadata?.ownerReferences, before.metadata?.finalizers], "the pod is untouched");
    });
  }

  it("refused by RBAC: reading or deleting pods, even its own", async () => {
    await assert.rejects(asTrainerOfA.readNamespacedPod({ name: "trainer-a", namespace: NAMESPACE }), (err: ApiException<unknown>) => err.code === 403);
    await assert.rejects(asTrainerOfA.listNamespacedPod({ namespace: NAMESPACE }), (err: ApiException<unknown>) => err.code === 403);
    await assert.rejects(asTrainerOfA.deleteNamespacedPod({ name: "trainer-a", namespace: NAMESPACE }), (err: ApiException<unknown>) => err.code === 403);
  });

  it("other identities are not matched: an admin still labels the pod", async () => {
    assert.equal(await patch(c.core, "trainer-a", { labels: { "example.com/checked": "yes" } }), "ok");
  });
});
