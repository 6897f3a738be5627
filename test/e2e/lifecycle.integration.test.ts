// Runs that end on their own: the example completes, a crashing trainer
// uses up its retry budget, suspend and resume, delete while running.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, checkpointDir, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });
const examples = fileURLToPath(new URL("../../examples", import.meta.url));

describe("TrainingRun lifecycle", { timeout: 1_200_000 }, () => {
  test("kubectl apply -f examples/run.yaml ends Succeeded with a final checkpoint and a result", async () => {
    await e.kubectl(["apply", "-n", NAMESPACE, "-f", join(examples, "run.yaml")]);
    const name = "mnist-spot";
    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions ?? 0, 0);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.result?.reason, "completed");
    assert.match(String(run.status?.result?.weightsSha256), /^[0-9a-f]{64}$/);
    assert.equal(run.status?.lastCheckpoint?.reason, "final");
    const table = await e.kubectl(["get", "tr", name, "-n", NAMESPACE]);
    assert.match(table, /Succeeded/);
  });

  test("a crashing trainer retries with backoff, then fails with a condition saying why; a preemption does not use that budget", async () => {
    // Each attempt crashes after a few seconds; the first is evicted before it can.
    const run = trainingRun("crashes", { image: "busybox", command: ["sh", "-c", "sleep 4; echo boom >&2; exit 1"] });
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(run));
    const first = await eventually("crashes-1 running", async () => {
      const pod = await e.core.readNamespacedPod({ name: "crashes-1", namespace: NAMESPACE }).catch(() => undefined);
      return pod?.status?.phase === "Running" ? pod : undefined;
    });
    await e.core.createNamespacedPodEviction({
      name: "crashes-1", namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "crashes-1", namespace: NAMESPACE } },
    });
    assert.ok(first.spec?.nodeName);
    const failed = await e.waitRun("crashes", "Failed", isPhase("Failed"), 3 * 60_000);
    assert.equal(failed.status?.preemptions, 1, "the eviction");
    assert.equal(failed.status?.failures, 3, "the first failure plus maxRetries=2 retries, the preemption not counted");
    assert.equal(failed.status?.attempt, 4);
    // Each failure before the last announced its retry (the backoff's wait is unit-tested
    // with a fake clock in reconcile-budgets.test.ts; timings belong in test/bench).
    const retrying = await e.kubectl(["get", "events", "-n", NAMESPACE, "--field-selector", "involvedObject.name=crashes,reason=RetryingAfterFailure", "-o", "name"]);
    assert.equal(retrying.trim().split("\n").filter(Boolean).length, 2, retrying);
    const cond = failed.status?.conditions?.find((c) => c.type === "Failed" || c.type === "Succeeded");
    assert.ok(cond, "a terminal condition");
    assert.match(`${cond.reason} ${cond.message}`, /retr|exit code 1/i);
    const events = await e.kubectl(["get", "events", "-n", NAMESPACE, "--field-selector", "involvedObject.name=crashes", "-o", "name"]);
    assert.ok(events.trim().length > 0, "events were recorded");
  });

  test("suspend stops the trainer gracefully; resume continues it to a bit-identical end", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("pausable")));
    const running = await e.waitRun("pausable", "training", pastStep(50));
    await e.kubectl(["patch", "tr", "pausable", "-n", NAMESPACE, "--type=merge", "-p", '{"spec":{"suspend":true}}']);
    // Suspended at once; the trainer's flush is recorded when its pod has ended.
    await e.waitRun("pausable", "Suspended", isPhase("Suspended"));
    await eventually("no live pod while suspended", async () =>
      (await e.runPods("pausable")).every((p) => p.status?.phase === "Failed" || p.status?.phase === "Succeeded") ? true : undefined);
    const suspended = await e.waitRun("pausable", "the flush recorded", (r) => r.status?.lastCheckpoint?.reason === "preemption");
    assert.equal(suspended.status?.phase, "Suspended");
    assert.ok((suspended.status?.lastCheckpoint?.step ?? 0) >= (running.status?.progress?.step ?? 0), "a checkpoint was flushed on suspend");
    await e.kubectl(["patch", "tr", "pausable", "-n", NAMESPACE, "--type=merge", "-p", '{"spec":{"suspend":false}}']);
    const done = await e.waitRun("pausable", "Succeeded", isPhase("Succeeded"));
    assert.equal(done.status?.lostSteps ?? 0, 0);
    assertResumeRecorded(e, done, { graceful: true });
    await assertBitIdentical(done);
  });

  test("deleting a running run stops its pod gracefully and keeps the checkpoint volume", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("deleted")));
    const running = await e.waitRun("deleted", "training", pastStep(10));
    const volume = await checkpointDir(e, "deleted");
    await e.kubectl(["delete", "tr", "deleted", "-n", NAMESPACE, "--wait=true", "--timeout=120s"]);
    await eventually("the run's pods gone", async () => ((await e.runPods("deleted")).length === 0 ? true : undefined), 120_000);
    const pvcs = await e.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
    assert.ok(pvcs.items.some((p) => p.metadata?.name?.startsWith("deleted")), "the checkpoint PVC is retained");
    // Graceful: the trainer got SIGTERM and flushed a final checkpoint past what it had reported.
    const newest = readdirSync(volume).filter((d) => d.startsWith("ckpt-")).sort().at(-1);
    assert.ok(newest, "a checkpoint on the retained volume");
    const manifest = JSON.parse(readFileSync(join(volume, newest, "manifest.json"), "utf8")) as { kind: string; step: number };
    assert.equal(manifest.kind, "final");
    assert.ok(manifest.step >= (running.status?.progress?.step ?? 0), `final checkpoint at step ${manifest.step}`);
  });
});
