// The generated CRD on a real apiserver: it is accepted (structural schema, CEL rules
// compiled within their cost budget), it reaches the same verdicts as zod on the shared
// corpus and the examples, defaults the same way, and keeps every status field the
// operator writes.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { before, describe, it } from "node:test";
import { trainingRunStatusSchema, type TrainingRunStatus } from "../../operator/src/api/status.js";
import { crdEstablished, useCluster } from "../support/cluster.js";
import { corpus, minimal, minimalDefaulted, trainingRun } from "./corpus.js";

const CRD = new URL("../../crds/resumable.dev_trainingruns.yaml", import.meta.url).pathname;
const EXAMPLES = new URL("../../examples/", import.meta.url);

/** A status with every field set, as the operator writes it. */
const fullStatus: TrainingRunStatus = {
  phase: "Running",
  conditions: [{ type: "Running", status: "True", reason: "TrainerRunning", message: "attempt 2 is running", lastTransitionTime: "2026-11-28T12:00:00Z", observedGeneration: 1 }],
  observedGeneration: 1,
  attempt: 2,
  preemptions: 1,
  quotaPreemptions: 1,
  failures: 0,
  progress: { step: 250, totalSteps: 600, epoch: 2, loss: 0.25, updatedAt: "2026-11-28T12:01:00.000Z", recordedAt: "2026-11-28T12:01:00.250Z" },
  lastCheckpoint: { step: 200, time: "2026-11-28T12:00:50.000Z", bytes: 409600, reason: "periodic", path: "s3://ml-checkpoints/team-a/mnist/ckpt-00000200-a2" },
  checkpointStorage: "s3://ml-checkpoints/team-a/mnist",
  lostSteps: 30,
  attempts: [
    { attempt: 1, pod: "r-1", uid: "u1", node: "spot-1", startTime: "2026-11-28T11:59:00Z", endTime: "2026-11-28T12:00:00.000Z", endReason: "Preempted", endDetail: "NodeLost", exitCode: 143, resumedFromStep: 0, reachedStep: 230, stoppedForSuspend: true, capacityType: "spot", capacityReason: "Spec", instanceType: "n1-standard-4", gpus: 1 },
    { attempt: 2, pod: "r-2", uid: "u2", node: "spot-2", resumedFromStep: 200, reachedStep: 250, nodeLostAt: "2026-11-28T12:01:00.000Z", capacityType: "on-demand", capacityReason: "AfterPreemptions", admittedAt: "2026-11-28T12:00:20.000Z" },
  ],
  result: { reason: "completed", step: 600, weightsSha256: "ab12", backend: "cpu", checkpoint: { step: 600, path: "/c/ckpt-600", bytes: 1, saveSeconds: 0.1 }, error: "kept: unknown fields survive" },
  startTime: "2026-11-28T11:59:00.000Z",
  completionTime: "2026-11-28T12:10:00.000Z",
  nextAttemptAt: "2026-11-28T12:00:10.000Z",
  capacity: { type: "on-demand", reason: "AfterPreemptions", since: "2026-11-28T12:00:00.000Z", message: "1 preemption on spot", moves: 1, returnRequestedAt: "2026-11-28T13:00:00.000Z", spotPreemptions: 0 },
  preemptionCost: { checkpointStep: 200, checkpointTime: "2026-11-28T12:00:50.000Z", stepsAtRisk: 50, secondsAtRisk: 10.5, reportedAt: "2026-11-28T12:01:00.000Z" },
  accounting: {
    spotGpuSeconds: 60, onDemandGpuSeconds: 60.5, lostGpuSeconds: 2, spotSeconds: 60, onDemandSeconds: 60.5, spotPreemptions: 1, preemptionsPerSpotHour: 60,
    spotCost: 0.003, onDemandCost: 0.009, estimatedCost: 0.012, allOnDemandCost: 0.018, saving: 0.006, currency: "USD",
  },
};

describe("api: the CRD on a real apiserver", { timeout: 10 * 60_000 }, () => {
  // A cluster of its own, not the shared one: its objects live in default, and a control plane without a kubelet starts in seconds.
  const t = useCluster({ withKubelet: false });
  const dryRun = (object: Record<string, unknown>) =>
    t.kubectl(["create", "--dry-run=server", "-n", "default", "-o", "json", "-f", "-"], JSON.stringify(object));

  before(async () => {
    await t.kubectl(["apply", "-f", CRD]);
    await crdEstablished(t.cluster.kubeconfig, "trainingruns.resumable.dev");
  });

  for (const c of corpus) {
    it(`${c.name}: ${c.valid ? "accepted" : `rejected at ${c.field || "the object"}`}, as zod decides`, async () => {
      const outcome = await dryRun(c.object).then(
        () => "accepted",
        (err: Error) => err.message,
      );
      if (c.valid) assert.equal(outcome, "accepted");
      // The apiserver names the same field the operator's Valid condition would.
      else assert.ok(outcome.includes(`${c.field || "<nil>"}: `), outcome);
    });
  }

  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"))) {
    it(`examples/${file} is accepted`, async () => {
      await t.kubectl(["create", "--dry-run=server", "-n", "default", "-f", new URL(file, EXAMPLES).pathname]);
    });
  }

  it("defaults a minimal object exactly as zod does", async () => {
    const created = JSON.parse(await dryRun(minimal)) as { spec: unknown };
    assert.deepEqual(created.spec, minimalDefaulted);
  });

  it("keeps every status field the operator writes", async () => {
    assert.deepEqual(Object.keys(fullStatus).sort(), Object.keys(trainingRunStatusSchema.shape).sort(), "fullStatus covers the schema");
    await t.kubectl(["create", "-n", "default", "-f", "-"], JSON.stringify(trainingRun({}, "status-roundtrip")));
    await t.kubectl(
      ["patch", "-n", "default", "trainingrun", "status-roundtrip", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: fullStatus })],
    );
    const stored = JSON.parse(await t.kubectl(["get", "-n", "default", "tr", "status-roundtrip", "-o", "json"])) as { status: unknown };
    assert.deepEqual(stored.status, fullStatus);
  });
});
