// Conditions the scenarios wait for and the guarantees they check.
import assert from "node:assert/strict";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { NAMESPACE, type E2E } from "./harness.js";
import { twinWeightsSha256 } from "./twin.js";

export const isPhase = (phase: string) => (run: TrainingRun) => run.status?.phase === phase;

/** Running with its trainer past `step` (as reported through the progress annotation). */
export const pastStep = (step: number) => (run: TrainingRun) =>
  run.status?.phase === "Running" && (run.status.progress?.step ?? 0) >= step;

/** The live pod of the run's current attempt. */
export async function currentPod(e: E2E, name: string) {
  const run = await e.getRun(name);
  return e.core.readNamespacedPod({ name: `${name}-${run.status?.attempt}`, namespace: run.metadata.namespace ?? "default" });
}

/** Succeeded, with the same weights as the uninterrupted twin of its config. */
export async function assertBitIdentical(run: TrainingRun): Promise<void> {
  assert.equal(run.status?.phase, "Succeeded");
  const want = await twinWeightsSha256(run.spec.training as Record<string, unknown>);
  assert.equal(run.status?.result?.weightsSha256, want, "weights differ from the uninterrupted run");
}

/** The host directory behind the run's checkpoint PVC (a local-path hostPath PV). */
export async function checkpointDir(e: E2E, run: string): Promise<string> {
  const pvcs = await e.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
  const pvc = pvcs.items.find((p) => p.metadata?.name?.startsWith(run));
  assert.ok(pvc?.spec?.volumeName, `no bound checkpoint PVC for ${run}`);
  const pv = await e.core.readPersistentVolume({ name: pvc.spec.volumeName });
  return pv.spec!.hostPath!.path;
}
