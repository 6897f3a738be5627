// The operator is a process like any other: killed mid-run and mid-restart
// it comes back to the same counters and never doubles a pod; two replicas
// elect one leader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });

describe("operator restarts", { timeout: 1_200_000 }, () => {
  test("killed mid-run and mid-restart: no duplicate pods, counters intact", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("restarts")));
    await e.waitRun("restarts", "training", pastStep(80));
    await e.stopOperators("SIGKILL");
    await e.startOperator();
    await e.waitRun("restarts", "training after an operator restart", pastStep(120));

    // Kill the operator right after the pod goes, before it can react.
    const pod = await currentPod(e, "restarts");
    await e.stopOperators("SIGKILL");
    await e.core.createNamespacedPodEviction({
      name: pod.metadata!.name!, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata!.name!, namespace: NAMESPACE } },
    });
    await eventually("the evicted pod gone", async () =>
      (await e.runPods("restarts")).some((p) => p.metadata?.name === pod.metadata?.name) ? undefined : true, 120_000);
    await e.startOperator();

    const run = await e.waitRun("restarts", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.attempt, 2);
    const names = (await e.runPods("restarts")).map((p) => p.metadata?.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.every((n) => n === "restarts-1" || n === "restarts-2"), `pods: ${names.join(", ")}`);
    assertResumeRecorded(e, run, { graceful: true });
    await assertBitIdentical(run);
  });

  test("two replicas with leader election: one leader", async () => {
    await e.stopOperators("SIGTERM");
    await e.startOperator(["--leader-elect=true"]);
    await e.startOperator(["--leader-elect=true"]);
    const kc = new KubeConfig();
    kc.loadFromFile(e.cluster.kubeconfig);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const lease = await eventually("a lease holder", async () => {
      const leases = await coordination.listLeaseForAllNamespaces();
      return leases.items.find((l) => l.metadata?.name?.includes("resumable") && l.spec?.holderIdentity);
    });
    assert.ok(lease.spec?.holderIdentity);
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("led")));
    const run = await e.waitRun("led", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.attempt, 1, "exactly one attempt: the follower created nothing");
  });
});
