// The operator with the real Kueue (v0.19.2, test/kueue): runs labelled with a LocalQueue are
// admitted through Kueue's pod-group integration. Two LocalQueues share one ClusterQueue with a
// GPU quota that preempts lower priorities within it. A low-priority run preempted by a high one
// flushes, waits in the queue (Queued) while the high one runs, and resumes with 0 lost steps,
// bit-identical to its uninterrupted twin; Kueue's own Workloads agree. A gang of 3 with quota
// for 2 is held whole behind Kueue's gate (no node, no GPU, no gang timeout) until the quota
// grows. A run without the queue label goes around Kueue as it always did.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { before, describe, test } from "node:test";
import { eventually } from "../support/cluster.js";
import { startKueue } from "../kueue/start.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, isPhase, pastStep } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";
import { gangAttempts } from "./trainer-records.js";
import { holdGangPort } from "./gang-port.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";

const nodesFile = fileURLToPath(new URL("./kueue-nodes.json", import.meta.url));
// The operator starts after Kueue, so it finds the Workload CRD and watches Workloads.
const e = useE2E({ nodesFile, startOperator: false });

const CLUSTER_QUEUE = "gpus";
const SPOT_TAINT = { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" };

interface Condition { type: string; status: string; reason?: string; message?: string }
interface Workload { metadata: { name: string }; status?: { conditions?: Condition[]; admission?: { clusterQueue?: string } } }

const condition = (conditions: readonly Condition[] | undefined, type: string) => conditions?.find((c) => c.type === type);

/** The ClusterQueue with `gpus` GPUs of quota on the spot flavor, preempting lower priorities within it. */
const clusterQueue = (gpus: number) => ({
  apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ClusterQueue", metadata: { name: CLUSTER_QUEUE },
  spec: {
    namespaceSelector: {},
    preemption: { withinClusterQueue: "LowerPriority" },
    resourceGroups: [{ coveredResources: ["cpu", "nvidia.com/gpu"], flavors: [
      { name: "spot", resources: [{ name: "cpu", nominalQuota: "8" }, { name: "nvidia.com/gpu", nominalQuota: String(gpus) }] },
    ] }],
  },
});

async function workload(name: string): Promise<Workload | undefined> {
  const out = await e.kubectl(["get", "workloads.kueue.x-k8s.io", "-n", NAMESPACE, "--ignore-not-found", "-o", "json", name]);
  return out.trim() === "" ? undefined : (JSON.parse(out) as Workload);
}

async function eventsOf(run: string, reason: string) {
  return (await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${run},reason=${reason}` })).items;
}

/** A run in `queue` at `priority`, asking for `gpus` GPUs per pod. */
function queuedRun(name: string, queue: string, priority: string, gpus: number, spec: Partial<TrainingRunSpecInput> = {}): TrainingRun {
  const run = trainingRun(name, { resources: { requests: { cpu: "100m" }, limits: { "nvidia.com/gpu": gpus } }, ...spec });
  return { ...run, metadata: { ...run.metadata, labels: { "kueue.x-k8s.io/queue-name": queue, "kueue.x-k8s.io/priority-class": priority } } };
}

describe("TrainingRuns queued by Kueue", { timeout: 40 * 60_000 }, () => {
  before(async () => {
    await startKueue(e.cluster);
    await e.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: "spot" },
        spec: { nodeLabels: { "cloud.google.com/gke-spot": "true" }, tolerations: [SPOT_TAINT] } },
      clusterQueue(2),
      ...[["low", 100], ["high", 1000]].map(([name, value]) =>
        ({ apiVersion: "kueue.x-k8s.io/v1beta2", kind: "WorkloadPriorityClass", metadata: { name }, value })),
      ...["team-a", "team-b"].map((name) =>
        ({ apiVersion: "kueue.x-k8s.io/v1beta2", kind: "LocalQueue", metadata: { name, namespace: NAMESPACE }, spec: { clusterQueue: CLUSTER_QUEUE } })),
    ] }));
    await e.startOperator(KUEUE_ARGS);
  }, { timeout: 30 * 60_000 });

  test("a low-priority run preempted by a high one flushes, waits in its queue, then resumes with 0 lost steps, bit-identical to its twin", async () => {
    // Each run takes the whole quota (2 GPUs): the high one can only run if the low one yields.
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(queuedRun("low", "team-a", "low", 2)));
    await e.waitRun("low", "training", pastStep(60), 10 * 60_000);
    const admitted = await workload("low-1");
    assert.equal(condition(admitted?.status?.conditions, "Admitted")?.status, "True", "Kueue admitted the low run's first attempt");
    assert.equal(admitted?.status?.admission?.clusterQueue, CLUSTER_QUEUE);

    await e.kubectl(["apply", "-f", "-"], JSON.stringify(queuedRun("high", "team-b", "high", 2, { training: { ...SMALL_TRAINING, totalSteps: 200 } })));
    const evicted = await eventually("Kueue to evict the low run's workload", async () => {
      const c = condition((await workload("low-1"))?.status?.conditions, "Evicted");
      return c?.status === "True" ? c : undefined;
    }, 5 * 60_000);
    assert.equal(evicted.reason, "Preempted", "Kueue's own Evicted reason");

    // The low run's next attempt waits in its queue while the high one holds the quota.
    const waiting = await e.waitRun("low", "queued for its second attempt", (r) =>
      (r.status?.attempt ?? 0) >= 2 && condition(r.status?.conditions, "Queued")?.status === "True", 5 * 60_000);
    const queued = condition(waiting.status?.conditions, "Queued")!;
    assert.match(queued.message ?? "", /attempt 2 waits in queue team-a/);
    assert.equal(waiting.status?.attempts?.[0]?.endReason, "Preempted");
    assert.equal(waiting.status?.attempts?.[0]?.endDetail, "QuotaPreempted");
    // While the high run holds the quota, the low one still waits, behind Kueue's gate, on no node.
    await eventually("Kueue to admit the high run", async () =>
      condition((await workload("high-1"))?.status?.conditions, "Admitted")?.status === "True" ? true : undefined, 5 * 60_000);
    const meanwhile = await e.getRun("low");
    assert.equal(meanwhile.status?.attempt, 2);
    assert.equal(condition(meanwhile.status?.conditions, "Queued")?.status, "True", "still queued while the high run is admitted");
    const second = (await e.runPods("low")).filter((p) => p.metadata?.name === "low-2");
    assert.equal(second.length, 1);
    assert.equal(second[0]!.spec?.nodeName, undefined, "the queued attempt holds no node");
    assert.ok(second[0]!.spec?.schedulingGates?.some((g) => g.name === "kueue.x-k8s.io/admission"), "it waits behind Kueue's gate");

    const high = await e.waitRun("high", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(high.status?.preemptions ?? 0, 0);
    const low = await e.waitRun("low", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(low.status?.preemptions, 1);
    assert.equal(low.status?.quotaPreemptions, 1);
    assert.equal(low.status?.failures ?? 0, 0);
    assert.equal(condition(low.status?.conditions, "Queued")?.reason, "Admitted");
    // Kueue readmitted the group of the attempt that finished.
    assert.equal(condition((await workload("low-2"))?.status?.conditions, "Admitted")?.status, "True", "Kueue readmitted the low run");
    const [first, resumed] = assertResumeRecorded(e, low, { graceful: true });
    assert.equal(first!.summary?.reason, "preempted", "the low trainer flushed at its SIGTERM");
    assert.equal(resumed!.resumedFromStep, first!.reachedStep, "0 lost steps by the trainers' own records");
    assert.equal(low.status?.attempts?.[1]?.resumedFromStep, first!.reachedStep);
    const [event] = await eventsOf("low", "QuotaPreempted");
    assert.match(event?.message ?? "", /stopped by Kueue \(QuotaPreempted\)/, "the run's own event");
    await assertBitIdentical(low);
  });

  test("a gang of 3 with quota for 2 is held whole behind Kueue's gate, past its gang timeout, and runs once the quota is 3", async () => {
    const name = "gang";
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(queuedRun(name, "team-a", "low", 1, {
      workers: 3,
      // Long enough for three trainers to start on a loaded machine once admitted.
      scheduling: { spot: true, gangTimeoutSeconds: 30 },
      training: { ...SMALL_TRAINING, totalSteps: 100 },
    })));
    const queued = await e.waitRun(name, "queued with Kueue's reason", (r) => {
      const c = condition(r.status?.conditions, "Queued");
      return c?.status === "True" && /insufficient/.test(c.message ?? "");
    }, 5 * 60_000);
    assert.equal(queued.status?.phase, "Pending");
    const pending = condition((await workload(`${name}-1`))?.status?.conditions, "QuotaReserved");
    assert.equal(pending?.status, "False", "Kueue reserved no quota");
    assert.match(condition(queued.status?.conditions, "Queued")?.message ?? "", new RegExp(pending!.reason!));
    // Well past gangTimeoutSeconds: nothing was placed, so nothing timed out.
    await new Promise((r) => setTimeout(r, 40_000));
    const pods = await e.runPods(name);
    assert.equal(pods.length, 3);
    for (const pod of pods) assert.equal(pod.spec?.nodeName, undefined, `${pod.metadata?.name} holds no node`);
    const still = await e.getRun(name);
    assert.equal(still.status?.attempt, 1, "no new attempt: the gang was never partly placed");
    assert.equal(still.status?.attempts?.[0]?.endTime, undefined);
    assert.deepEqual(await eventsOf(name, "GangUnschedulable"), []);

    // Its trainers start once admitted: not while another file's PyTorch gang holds the port.
    const releaseGangPort = await holdGangPort();
    let run: TrainingRun;
    try {
      await e.kubectl(["apply", "-f", "-"], JSON.stringify(clusterQueue(3)));
      run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    } finally {
      releaseGangPort();
    }
    const ended = (run.status?.attempts ?? []).map((a) => `${a.attempt}: ${a.endReason} (${a.endDetail}${a.exitCode === undefined ? "" : `, exit ${a.exitCode}`}) admitted ${a.admittedAt}`).join("; ");
    // A failed attempt names itself: its exit code above, the trainers' own last words here.
    const failures = run.status?.attempt === 1 ? "" : `; failures: ${JSON.stringify((await eventsOf(name, "RetryingAfterFailure")).map((ev) => ev.message))}`;
    assert.equal(run.status?.attempt, 1, `one attempt, admitted whole (${ended})${failures}`);
    assert.ok(run.status?.attempts?.[0]?.admittedAt, "the admission is on the record");
    assert.equal(condition((await workload(`${name}-1`))?.status?.conditions, "Admitted")?.status, "True");
    const [attempt] = gangAttempts(e, name);
    assert.deepEqual(attempt?.map((r) => r.summary?.reason), ["completed", "completed", "completed"]);
  });

  test("a run suspended while it waits in the queue: its gated pods go without ever running, and unsuspended it queues again", async () => {
    // 4 GPUs: more than the ClusterQueue's quota, so it can only wait.
    const name = "waiting";
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(queuedRun(name, "team-a", "low", 4, { training: { ...SMALL_TRAINING, totalSteps: 100 } })));
    await e.waitRun(name, "queued", (r) => condition(r.status?.conditions, "Queued")?.status === "True", 5 * 60_000);
    await e.kubectl(["patch", "trainingrun", name, "--type=merge", "-p", JSON.stringify({ spec: { suspend: true } })]);
    // Kueue's finalizer is on a gated pod too: it must still go, or the run could never start again.
    await eventually("the gated pod to be gone", async () => ((await e.runPods(name)).length === 0 ? true : undefined), 3 * 60_000);
    const suspended = await e.waitRun(name, "suspended, its attempt ended", (r) => r.status?.phase === "Suspended" && r.status.attempts?.[0]?.endTime !== undefined, 60_000);
    assert.equal(suspended.status?.attempts?.[0]?.endReason, "Suspended");
    assert.equal(condition(suspended.status?.conditions, "Queued")?.reason, "NotWaiting", "no attempt waits in the queue");
    await e.kubectl(["patch", "trainingrun", name, "--type=merge", "-p", JSON.stringify({ spec: { suspend: false } })]);
    const again = await e.waitRun(name, "queued again", (r) => (r.status?.attempt ?? 0) === 2 && condition(r.status?.conditions, "Queued")?.status === "True", 5 * 60_000);
    assert.equal(again.status?.failures ?? 0, 0);
    assert.equal(again.status?.preemptions ?? 0, 0);
    await e.kubectl(["delete", "trainingrun", name, "--wait=true"]);
  });

  test("a run without the queue label goes around Kueue as before: no gate, no Queued condition", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("direct", { training: { ...SMALL_TRAINING, totalSteps: 100 } })));
    const run = await e.waitRun("direct", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(condition(run.status?.conditions, "Queued"), undefined);
    const [pod] = await e.runPods("direct");
    assert.equal(pod?.spec?.schedulingGates, undefined);
    assert.deepEqual(Object.keys(pod?.metadata?.labels ?? {}).filter((k) => k.startsWith("kueue.x-k8s.io/")), []);
    assert.equal(await workload("direct-1"), undefined);
  });
});

/** The operator's flags for a cluster with Kueue. */
const KUEUE_ARGS = ["--kueue=true"];
