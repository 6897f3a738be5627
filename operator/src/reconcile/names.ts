import type { TrainingRun } from "../api/trainingrun.js";

/** Deterministic names: a stale cache can never make the operator create a second copy. */
export function podName(runName: string, attempt: number): string {
  return `${runName}-${attempt}`;
}

/** The PVC a run keeps its checkpoints on: the user's claimName, else the one the operator creates. */
export function checkpointClaimName(run: TrainingRun): string {
  return run.spec.checkpoint?.claimName ?? `${run.metadata.name ?? ""}-checkpoints`;
}
