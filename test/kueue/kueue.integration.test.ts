// The real Kueue (built from its module by build.sh, cold once) on a local cluster of its own:
// a ClusterQueue with 2 GPUs on a spot flavor, a LocalQueue in front of it, and what issue #24
// stands on: a queued Job waits for quota and runs when it frees, the flavor places admitted
// pods on spot nodes, and a pod group that does not fit is held whole behind its scheduling gates.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, useCluster } from "../support/cluster.js";
import { startJobSet } from "../jobset/start.js";
import { startKueue } from "./start.js";

// A cluster of its own, not the shared one: Kueue's webhooks gate every pod of the namespaces it manages, and its queues are cluster-wide.
const t = useCluster();
const QUEUE = "team";
const SPOT_TAINT = { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" };
// The Jobs' pods wait for this file, so the test decides when the first one finishes.
const gates = mkdtempSync(join(tmpdir(), "resumable-kueue-"));
after(() => rmSync(gates, { recursive: true, force: true }));

// In a suite, so that its set-up runs after useCluster's: two root-level `before` hooks run at once.
describe("Kueue on the local cluster", () => {
  before(async () => {
    // JobSet first, so Kueue finds its CRD and sets its jobset integration up at start.
    await startJobSet(t.cluster);
    await startKueue(t.cluster);
    // nodes.json gives spot-a and spot-b one nvidia.com/gpu each: 2 GPUs of quota fit the nodes.
    await t.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "spot" },
        spec: { nodeLabels: { "cloud.google.com/gke-spot": "true" }, tolerations: [SPOT_TAINT] } },
      { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ClusterQueue", metadata: { name: "gpus" },
        spec: { namespaceSelector: {}, preemption: { withinClusterQueue: "LowerPriority" }, resourceGroups: [{ coveredResources: ["cpu", "nvidia.com/gpu"], flavors: [
          { name: "spot", resources: [{ name: "cpu", nominalQuota: "8" }, { name: "nvidia.com/gpu", nominalQuota: "2" }] },
        ] }] } },
      ...[["low", 100], ["high", 1000]].map(([name, value]) =>
        ({ apiVersion: "kueue.x-k8s.io/v1beta2", kind: "WorkloadPriorityClass", metadata: { name }, value })),
      { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "LocalQueue", metadata: { name: QUEUE, namespace: "default" }, spec: { clusterQueue: "gpus" } },
    ] }));
  }, { timeout: 30 * 60_000 });

  interface Condition { type: string; status: string; reason?: string; message?: string }
  interface Workload { metadata: { name: string; ownerReferences?: { name: string }[] }; status?: { conditions?: Condition[] } }
  interface Pod {
    metadata: { name: string };
    spec: { nodeName?: string; schedulingGates?: { name: string }[]; nodeSelector?: Record<string, string> };
    status: { phase: string };
  }

  const GPU = { requests: { cpu: "100m", "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "1" } };
  const condition = (w: Workload | undefined, type: string) => w?.status?.conditions?.find((c) => c.type === type);
  const getJson = async <T>(args: string[]) => JSON.parse(await t.kubectl(["get", ...args, "-o", "json"])) as T;

  /** The Workload Kueue made for the object named `owner` (a Job, or one of a group's pods). */
  async function workloadOf(owner: string): Promise<Workload | undefined> {
    const list = await getJson<{ items: Workload[] }>(["workloads.kueue.x-k8s.io", "-n", "default"]);
    return list.items.find((w) => w.metadata.ownerReferences?.some((o) => o.name === owner));
  }

  const podsOf = async (selector: string) => (await getJson<{ items: Pod[] }>(["pods", "-n", "default", "-l", selector])).items;

  /** A queued Job of `pods` pods, each asking for one GPU, that finish once `release` exists. */
  function gpuJob(name: string, pods: number, release: string): string {
    return JSON.stringify({
      apiVersion: "batch/v1", kind: "Job",
      metadata: { name, namespace: "default", labels: { "kueue.x-k8s.io/queue-name": QUEUE } },
      spec: {
        parallelism: pods, completions: pods, backoffLimit: 0,
        template: { spec: { restartPolicy: "Never", containers: [{
          name: "main", image: "busybox", resources: GPU,
          command: ["sh", "-c", `until [ -e ${release} ]; do sleep 0.2; done`],
        }] } },
      },
    });
  }

  async function jobSucceeded(name: string, pods: number): Promise<void> {
    await eventually(`Job ${name} to succeed`, async () =>
      (await getJson<{ status?: { succeeded?: number } }>(["job", name, "-n", "default"])).status?.succeeded === pods ? true : undefined, 120_000);
  }

  test("a queued Job is admitted on the spot flavor; a second waits for quota, without pods, until the first finishes", async () => {
    const releaseFirst = join(gates, "first"), releaseSecond = join(gates, "second");
    await t.kubectl(["create", "-f", "-"], gpuJob("first", 2, releaseFirst));
    const running = await eventually("both pods of the first Job to run", async () => {
      const pods = await podsOf("job-name=first");
      return pods.length === 2 && pods.every((p) => p.status.phase === "Running") ? pods : undefined;
    }, 120_000);
    assert.equal(condition(await workloadOf("first"), "Admitted")?.status, "True");
    // The flavor's node labels and tolerations are what put them on the (tainted) spot nodes.
    assert.deepEqual(running.map((p) => p.spec.nodeName).sort(), ["spot-a", "spot-b"]);
    assert.equal(running[0]?.spec.nodeSelector?.["cloud.google.com/gke-spot"], "true");

    await t.kubectl(["create", "-f", "-"], gpuJob("second", 1, releaseSecond));
    // Kueue has looked at it and found no quota: the condition says so, with its reason.
    const pending = await eventually("Kueue to find no quota for the second Job", async () => {
      const c = condition(await workloadOf("second"), "QuotaReserved");
      return c?.status === "False" ? c : undefined;
    });
    assert.match(pending.message ?? "", /insufficient (unused )?quota/i);
    assert.equal((await getJson<{ spec: { suspend?: boolean } }>(["job", "second", "-n", "default"])).spec.suspend, true);
    assert.deepEqual(await podsOf("job-name=second"), []);

    writeFileSync(releaseFirst, "");
    await jobSucceeded("first", 2);
    writeFileSync(releaseSecond, "");
    await jobSucceeded("second", 1);
    assert.equal(condition(await workloadOf("second"), "Admitted")?.status, "True");
  });

  /** A pod group (the plain-pod integration) of `count` GPU pods, as the operator's gangs will be made. */
  const podGroup = (group: string, count: number, opts: { script?: (pod: string) => string; priority?: string } = {}) =>
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [...Array(count).keys()].map((i) => ({
      apiVersion: "v1", kind: "Pod",
      metadata: {
        name: `${group}-${i}`, namespace: "default",
        labels: {
          "kueue.x-k8s.io/queue-name": QUEUE, "kueue.x-k8s.io/pod-group-name": group,
          ...(opts.priority ? { "kueue.x-k8s.io/priority-class": opts.priority } : {}),
        },
        annotations: { "kueue.x-k8s.io/pod-group-total-count": String(count) },
      },
      spec: { restartPolicy: "Never", containers: [{
        name: "main", image: "busybox", resources: GPU, command: ["sh", "-c", opts.script?.(`${group}-${i}`) ?? "true"],
      }] },
    })) });
  const admissionGated = (p: Pod) => p.spec.schedulingGates?.some((g) => g.name === "kueue.x-k8s.io/admission") ?? false;

  test("a pod group of 3 GPU pods with quota for 2 is not admitted: every pod stays behind Kueue's scheduling gate", async () => {
    await t.kubectl(["create", "-f", "-"], podGroup("gang", 3));
    const pending = await eventually("Kueue to find no quota for the group", async () => {
      const c = condition(await workloadOf("gang-0"), "QuotaReserved");
      return c?.status === "False" ? c : undefined;
    });
    assert.match(pending.message ?? "", /insufficient (unused )?quota/i);
    const pods = await podsOf("kueue.x-k8s.io/pod-group-name=gang");
    assert.equal(pods.length, 3);
    for (const p of pods) {
      // Gated by Kueue's webhook at creation, so the scheduler never saw it: no node, no GPU held.
      // (v0.19 adds its topology gate beside it, for topology-aware scheduling.)
      assert.ok(admissionGated(p), `${p.metadata.name}: ${JSON.stringify(p.spec.schedulingGates)}`);
      assert.equal(p.spec.nodeName, undefined, p.metadata.name);
    }
  });

  test("a pod group of 2 that fits is admitted whole: the gates are lifted, the flavor places both on spot nodes, both succeed", async () => {
    await t.kubectl(["create", "-f", "-"], podGroup("pair", 2));
    const done = await eventually("both pods of the group to succeed", async () => {
      const pods = await podsOf("kueue.x-k8s.io/pod-group-name=pair");
      return pods.length === 2 && pods.every((p) => p.status.phase === "Succeeded") ? pods : undefined;
    }, 120_000);
    assert.deepEqual(done.map((p) => p.spec.nodeName).sort(), ["spot-a", "spot-b"]);
    assert.ok(done.every((p) => !admissionGated(p)));
    assert.equal(condition(await workloadOf("pair-0"), "Admitted")?.status, "True");
  });

  test("a JobSet labelled with the queue is admitted through Kueue's jobset integration and runs to completion", async () => {
    await t.kubectl(["create", "-f", "-"], JSON.stringify({
      apiVersion: "jobset.x-k8s.io/v1alpha2", kind: "JobSet",
      metadata: { name: "queued", namespace: "default", labels: { "kueue.x-k8s.io/queue-name": QUEUE } },
      spec: { replicatedJobs: [{ name: "workers", replicas: 2, template: { spec: { parallelism: 1, completions: 1, backoffLimit: 0, template: {
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", resources: GPU, command: ["sh", "-c", "true"] }] },
      } } } }] },
    }));
    await eventually("the queued JobSet to complete", async () => {
      const js = await getJson<{ status?: { conditions?: Condition[] } }>(["jobset", "queued", "-n", "default"]);
      return js.status?.conditions?.some((c) => c.type === "Completed" && c.status === "True") ? true : undefined;
    }, 120_000);
    assert.equal(condition(await workloadOf("queued"), "Admitted")?.status, "True");
  });

  test("a higher-priority group preempts a running one: Kueue evicts it whole, its pods get SIGTERM, the higher one runs", async () => {
    // Each low pod records its SIGTERM: what the operator's trainers will flush on.
    const script = (pod: string) => `trap 'touch ${join(gates, "sigterm-")}${pod}; exit 143' TERM; while true; do sleep 0.2; done`;
    await t.kubectl(["create", "-f", "-"], podGroup("low", 2, { script, priority: "low" }));
    await eventually("both pods of the low group to run", async () => {
      const pods = await podsOf("kueue.x-k8s.io/pod-group-name=low");
      return pods.length === 2 && pods.every((p) => p.status.phase === "Running") ? true : undefined;
    }, 120_000);
    await t.kubectl(["create", "-f", "-"], podGroup("high", 2, { priority: "high" }));
    const evicted = await eventually("Kueue to evict the low group", async () => {
      const c = condition(await workloadOf("low-0"), "Evicted");
      return c?.status === "True" ? c : undefined;
    });
    assert.equal(evicted.reason, "Preempted");
    await eventually("both low pods to have had SIGTERM", async () =>
      ["low-0", "low-1"].every((pod) => existsSync(join(gates, `sigterm-${pod}`))) ? true : undefined);
    await eventually("both pods of the high group to succeed", async () => {
      const pods = await podsOf("kueue.x-k8s.io/pod-group-name=high");
      return pods.length === 2 && pods.every((p) => p.status.phase === "Succeeded") ? true : undefined;
    }, 120_000);
  });

  test("the CRDs' conversion webhook answers from the host: the ClusterQueue reads back as v1beta1", async () => {
    // With strategy Webhook the apiserver cannot serve another version without calling it.
    const crd = await getJson<{ spec: { conversion?: { strategy?: string; webhook?: { clientConfig?: { url?: string } } } } }>(
      ["crd", "clusterqueues.kueue.x-k8s.io"]);
    assert.equal(crd.spec.conversion?.strategy, "Webhook");
    assert.match(crd.spec.conversion?.webhook?.clientConfig?.url ?? "", /^https:\/\/127\.0\.0\.1:\d+\/convert$/);
    const cq = await getJson<{ apiVersion: string }>(["clusterqueues.v1beta1.kueue.x-k8s.io", "gpus"]);
    assert.equal(cq.apiVersion, "kueue.x-k8s.io/v1beta1");
  });

  test("a pod without a queue label is left alone by Kueue's webhook and runs as before", async () => {
    await t.kubectl(["create", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name: "unqueued", namespace: "default" },
      spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "true"] }] },
    }));
    const done = await eventually("the unqueued pod to succeed", async () => {
      const p = await getJson<Pod>(["pod", "unqueued", "-n", "default"]);
      return p.status.phase === "Succeeded" ? p : undefined;
    }, 60_000);
    assert.equal(done.spec.schedulingGates, undefined);
  });
});
