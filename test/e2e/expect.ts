// Conditions the scenarios wait for and the guarantees they check.
import assert from "node:assert/strict";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { NAMESPACE, type E2E } from "./harness.js";
import { lostStepsFromRecords, trainerAttempts, type TrainerAttempt } from "./trainer-records.js";
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

/**
 * The resume proven from the trainers' own records (their pod logs), not from the weights
 * or the operator's formula: every attempt after the first resumed past step 0 from where
 * the operator recorded, status.lostSteps equals the steps the records show computed twice,
 * and the last attempt completed. `graceful`: every disruption was a preemption with a final
 * flush, so each attempt started exactly where the previous one stopped (0 lost).
 */
export function assertResumeRecorded(e: Pick<E2E, "cluster">, run: TrainingRun, opts: { graceful: boolean }): TrainerAttempt[] {
  const name = run.metadata.name!;
  const records = trainerAttempts(e, name);
  const described = records.map((r) => `attempt ${r.attempt}: ${r.resumedFromStep}->${r.reachedStep} ${r.summary?.reason ?? "killed"}`).join("; ");
  assert.ok(records.length >= 2, `${name}: at least two attempts in the trainers' records (${described})`);
  for (const [i, record] of records.entries()) {
    const recorded = run.status?.attempts?.find((a) => a.attempt === record.attempt);
    if (i === 0) {
      assert.equal(record.resumedFromStep, 0, `${name}: the first attempt starts fresh (${described})`);
      continue;
    }
    assert.ok(record.resumedFromStep > 0, `${name}: attempt ${record.attempt} resumed, not restarted from 0 (${described})`);
    if (recorded) assert.equal(recorded.resumedFromStep, record.resumedFromStep, `${name}: status.attempts[].resumedFromStep of attempt ${record.attempt}`);
    if (opts.graceful) {
      const previous = records[i - 1]!;
      assert.equal(record.resumedFromStep, previous.reachedStep, `${name}: attempt ${record.attempt} began where ${previous.attempt} stopped (${described})`);
    }
  }
  const lost = lostStepsFromRecords(records);
  if (opts.graceful) {
    assert.equal(lost, 0, `${name}: no step computed twice (${described})`);
    assert.equal(run.status?.lostSteps ?? 0, 0, `${name}: status.lostSteps`);
  } else {
    // A SIGKILLed trainer's last steps after its last progress report are in its log but
    // never reached the operator: status.lostSteps is what was reported, a lower bound.
    assert.ok((run.status?.lostSteps ?? 0) <= lost, `${name}: status.lostSteps ${run.status?.lostSteps} within the trainers' ${lost} (${described})`);
  }
  assert.equal(records.at(-1)?.summary?.reason, "completed", `${name}: the last attempt completed (${described})`);
  return records;
}

/**
 * After a node was lost without warning: `resumed` started from the newest checkpoint the
 * killed trainer saw committed, or from the save in flight when it died (committed before its
 * log line could be), never an older one. From the first trainer's own log: a periodic save
 * due while the previous is still being written starts at the next step after it (201, not 200).
 */
export function assertResumedFromNewestSave(first: TrainerAttempt, resumed: TrainerAttempt): void {
  const steps = (msg: string) => first.lines.filter((l) => l.msg === msg).map((l) => Number(l.step));
  const committed = steps("checkpoint committed");
  const started = steps("checkpoint save started");
  const newestCommitted = Math.max(...committed);
  assert.ok(committed.length >= 1, `the first trainer committed a periodic checkpoint before the loss: ${committed.join(", ")}`);
  assert.ok(
    resumed.resumedFromStep === newestCommitted || (resumed.resumedFromStep === started.at(-1) && resumed.resumedFromStep > newestCommitted),
    `resumed from step ${resumed.resumedFromStep}: the newest committed checkpoint was step ${newestCommitted}, the last save started at ${started.at(-1)}`,
  );
}

export const ZONE_LABEL = "topology.kubernetes.io/zone";

/** A node's zone, as the cloud labels it. */
export async function zoneOf(e: Pick<E2E, "core">, node: string): Promise<string | undefined> {
  return (await e.core.readNode({ name: node })).metadata?.labels?.[ZONE_LABEL];
}
