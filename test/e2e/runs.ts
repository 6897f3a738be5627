// TrainingRun objects for the end-to-end scenarios: small and quick, cpu
// backend (bit-identical across processes on one machine), progress
// reported every second so the operator sees steps as they happen.
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import { NAMESPACE } from "./harness.js";

export const SMALL_TRAINING = {
  model: "mlp",
  hiddenUnits: 64,
  dataset: "synthetic",
  syntheticExamples: 1024,
  totalSteps: 400,
  batchSize: 32,
  seed: 7,
  backend: "cpu",
  checkpoint: { everySteps: 50, everySeconds: 0, keep: 3 },
};

export function trainingRun(name: string, spec: Partial<TrainingRunSpecInput> = {}): TrainingRun {
  return {
    apiVersion: "resumable.dev/v1alpha1",
    kind: "TrainingRun",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      training: SMALL_TRAINING,
      // trace: one log line per step, the trainer's own record of what each attempt computed
      // (trainer-records.ts reads it to prove a resume).
      env: [{ name: "RESUMABLE_PROGRESS_SECONDS", value: "1" }, { name: "LOG_LEVEL", value: "trace" }],
      scheduling: { spot: true },
      preemption: { gracePeriodSeconds: 10 },
      failurePolicy: { maxRetries: 2, backoff: { initialSeconds: 1, maxSeconds: 4 } },
      ...spec,
    },
  };
}
