// Pods the real apiserver refuses: an invalid pod built from the run's own fields is a
// permanent Valid=False naming the field (no FailedCreate loop, no run without a phase);
// a quota refusal is retried with its own reason and the run starts once quota frees up.
// The operator's log carries the apiserver's message, never client-node's raw exception.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });

const valid = (run: TrainingRun) => run.status?.conditions?.find((c) => c.type === "Valid");

async function eventReasons(run: string): Promise<string[]> {
  const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${run}` });
  return events.items.map((ev) => ev.reason ?? "");
}

/** Waits past the operator's first retry backoff, so a retry loop would have shown by then. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5_000));

async function create(run: TrainingRun): Promise<void> {
  await e.kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify(run));
}

describe("pods the apiserver refuses", { timeout: 10 * 60_000 }, () => {
  test("resources the pod validation refuses (requests above limits): Valid=False PodRejected naming spec.resources, once", async () => {
    // The CRD cannot compare two quantities; the apiserver's pod validation can.
    await create(trainingRun("over-request", { resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }));
    const run = await e.waitRun("over-request", "Valid=False", (r) => valid(r)?.status === "False");
    assert.equal(valid(run)?.reason, "PodRejected");
    assert.match(valid(run)?.message ?? "", /^spec\.resources: the apiserver refused the trainer pod built from it: Pod "over-request-1" is invalid: spec\.containers\[0\]\.resources\.requests/);
    assert.equal(run.status?.phase, "Pending", "the run has a phase");
    await settle();
    assert.deepEqual(await e.runPods("over-request"), []);
    const reasons = await eventReasons("over-request");
    assert.deepEqual(reasons.filter((r) => r === "PodRejected"), ["PodRejected"]);
    assert.ok(!reasons.includes("FailedCreate"), reasons.join(", "));
    assert.equal((await e.getRun("over-request")).status?.attempt ?? 0, 0, "no attempt started");
  });

  test("an affinity the pod validation refuses: Valid=False PodRejected naming spec.scheduling.affinity; fixing it starts the run", async () => {
    // affinity is passed through as is: only the apiserver's pod validation reads it.
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "Bogus" }] }] } } };
    await create(trainingRun("bad-affinity", { scheduling: { spot: true, affinity } }));
    const run = await e.waitRun("bad-affinity", "Valid=False", (r) => valid(r)?.status === "False");
    assert.equal(valid(run)?.reason, "PodRejected");
    assert.match(valid(run)?.message ?? "", /^spec\.scheduling\.affinity: .*spec\.affinity\.nodeAffinity/);
    assert.equal(run.status?.phase, "Pending");
    await settle();
    const reasons = await eventReasons("bad-affinity");
    assert.deepEqual(reasons.filter((r) => r === "PodRejected"), ["PodRejected"]);
    assert.ok(!reasons.includes("FailedCreate"), reasons.join(", "));

    // Fixing the spec (a new generation) starts the run.
    await e.kubectl(["patch", "trainingrun", "bad-affinity", "-n", NAMESPACE, "--type=merge", "-p", JSON.stringify({ spec: { scheduling: { affinity: null } } })]);
    await e.waitRun("bad-affinity", "Valid=True and attempt 1", (r) => valid(r)?.status === "True" && (r.status?.attempt ?? 0) === 1);
    await e.kubectl(["delete", "trainingrun", "bad-affinity", "-n", NAMESPACE, "--wait=false"]);
  });

  test("a nodeSelector key that is no label key is Valid=False before any pod: no FailedCreate loop, a phase", async () => {
    // The CRD cannot check map keys; the operator's own validation can, before creating anything.
    await create(trainingRun("bad-selector", { scheduling: { spot: true, nodeSelector: { "bad key!": "x" } } }));
    const run = await e.waitRun("bad-selector", "Valid=False", (r) => valid(r)?.status === "False");
    assert.equal(valid(run)?.reason, "InvalidSpec");
    assert.match(valid(run)?.message ?? "", /^spec\.scheduling\.nodeSelector: "bad key!" is not a label key/);
    assert.equal(run.status?.phase, "Pending");
    await settle();
    assert.deepEqual(await e.runPods("bad-selector"), []);
    assert.ok(!(await eventReasons("bad-selector")).includes("FailedCreate"));
    await e.kubectl(["delete", "trainingrun", "bad-selector", "-n", NAMESPACE, "--wait=false"]);
  });

  test("a quota refusal is retried with its own reason, and the run starts once the quota allows it", async () => {
    await e.kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "no-pods" }, spec: { hard: { pods: "0" } },
    }));
    // Admission judges against the usage the quota controller has computed.
    await eventually("the quota's usage computed", async () => {
      const quota = await e.core.readNamespacedResourceQuota({ name: "no-pods", namespace: NAMESPACE });
      return quota.status?.used?.pods !== undefined || undefined;
    });
    await create(trainingRun("over-quota"));
    await eventually("a QuotaExceeded event", async () => (await eventReasons("over-quota")).includes("QuotaExceeded") || undefined);
    const run = await eventually("the run's status saying why it waits", async () => {
      const r = await e.getRun("over-quota");
      return r.status?.conditions?.find((c) => c.type === "Running")?.reason === "QuotaExceeded" ? r : undefined;
    });
    assert.equal(run.status?.phase, "Pending");
    assert.equal(run.status?.attempts, undefined, "no attempt recorded for a pod that does not exist");
    assert.notEqual(valid(run)?.status, "False", "a quota refusal is not an invalid spec");
    assert.ok(!(await eventReasons("over-quota")).includes("PodRejected"));
    await e.core.deleteNamespacedResourceQuota({ name: "no-pods", namespace: NAMESPACE });
    await eventually("the run's pod, once quota allows it", async () => ((await e.runPods("over-quota")).length > 0) || undefined, 120_000);
    await e.kubectl(["delete", "trainingrun", "over-quota", "-n", NAMESPACE, "--wait=false"]);
  });

  test("the operator's log names the apiserver's message, never client-node's raw exception text", () => {
    const log = readFileSync(e.operatorLog, "utf8");
    assert.match(log, /Pod \\"over-request-1\\" is invalid/);
    assert.doesNotMatch(log, /Unknown API Status Code/);
  });
});
