// Two runs applied together on one claimName, on the local cluster: the second is
// Valid=False StorageInUse naming the first and gets no pod; once the first is deleted and
// its trainer has stopped, the second becomes Valid and starts. At no point are trainers of
// both alive.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });

const CLAIM = "shared-checkpoints";
const valid = (run: TrainingRun) => run.status?.conditions?.find((c) => c.type === "Valid");

/** The trainers of both runs not yet Succeeded/Failed, by name. */
async function aliveTrainers(): Promise<string[]> {
  const pods = await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "resumable.dev/run in (first,second)" });
  return pods.items.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed").map((p) => p.metadata?.name ?? "");
}

describe("a checkpoint location another live run holds", { timeout: 10 * 60_000 }, () => {
  test("two runs on one claimName: the second is Valid=False StorageInUse naming the first, no pod; it starts once the first is gone", async () => {
    await e.kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: CLAIM },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }));
    // One apply: both usually get the same creationTimestamp, and the name decides.
    const runs = ["first", "second"].map((name) => trainingRun(name, { checkpoint: { claimName: CLAIM } }));
    await e.kubectl(["apply", "-n", NAMESPACE, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: runs }));

    const second = await e.waitRun("second", "Valid=False", (r) => valid(r)?.status === "False");
    assert.equal(valid(second)?.reason, "StorageInUse");
    assert.match(valid(second)?.message ?? "", /^spec\.checkpoint\.claimName: PersistentVolumeClaim shared-checkpoints is used by TrainingRun first, which holds it/);
    assert.equal(second.status?.phase, "Pending");
    await e.waitRun("first", "running", (r) => r.status?.phase === "Running");
    // Past the operator's retry backoff: a second pod would have shown by now.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.deepEqual(await e.runPods("second"), []);
    assert.equal((await e.getRun("second")).status?.attempt ?? 0, 0, "no attempt started");
    const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: "involvedObject.name=second" });
    assert.deepEqual(events.items.map((ev) => ev.reason).filter((r) => r === "StorageInUse"), ["StorageInUse"], "told once");

    // Deleted with background propagation: the run is gone before its trainer has stopped.
    await e.kubectl(["delete", "trainingrun", "first", "-n", NAMESPACE, "--wait=false"]);
    const both: string[][] = [];
    await eventually("second started", async () => {
      const alive = await aliveTrainers();
      if (alive.length > 1) both.push(alive);
      const run = await e.getRun("second");
      return valid(run)?.status === "True" && (run.status?.attempt ?? 0) === 1 && alive.includes("second-1") ? run : undefined;
    }, 3 * 60_000);
    assert.deepEqual(both, [], "trainers of both runs were never alive at once");
    await e.kubectl(["delete", "trainingrun", "second", "-n", NAMESPACE, "--wait=false"]);
  });
});
