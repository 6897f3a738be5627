// Preemptions through the Eviction API — directly, and by kubectl drain —
// lose no steps and end bit-identical to the uninterrupted run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: kubectl drain cordons a node.
const e = useE2E();

describe("eviction", { timeout: 1_200_000 }, () => {
  test("an eviction mid-run is a preemption: resumed with no lost steps, bit-identical", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("evicted")));
    await e.waitRun("evicted", "training", pastStep(100));
    const pod = await currentPod(e, "evicted");
    await e.core.createNamespacedPodEviction({
      name: pod.metadata!.name!, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata!.name!, namespace: NAMESPACE } },
    });
    const run = await e.waitRun("evicted", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0);
    const [, second] = assertResumeRecorded(e, run, { graceful: true });
    assert.ok(second!.resumedFromStep >= 100, "the second attempt resumed past where the eviction came");
    await assertBitIdentical(run);
  });

  test("kubectl drain of the spot node is a preemption with the same guarantees", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("drained")));
    await e.waitRun("drained", "training", pastStep(100));
    const node = (await currentPod(e, "drained")).spec!.nodeName!;
    await e.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"]);
    const run = await e.waitRun("drained", "Succeeded", isPhase("Succeeded"));
    await e.kubectl(["uncordon", node]);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0);
    assert.notEqual(run.status?.attempts?.[1]?.node, node, "the next attempt ran elsewhere");
    assertResumeRecorded(e, run, { graceful: true });
    await assertBitIdentical(run);
  });
});
