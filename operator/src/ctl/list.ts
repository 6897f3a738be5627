// `resumable list`: one line per run.
import type { TrainingRunStatus } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";
import type { Clients } from "./client.js";
import { checkpointStorage } from "../model/observe.js";
import { listRuns } from "./client.js";
import { duration, secondsBetween, table } from "./table.js";

export async function list(c: Clients, allNamespaces: boolean, now: Date): Promise<string> {
  const runs = await listRuns(c, allNamespaces);
  if (runs.length === 0) return allNamespaces ? "No TrainingRuns found." : `No TrainingRuns found in ${c.namespace}.`;
  return runTable(runs, allNamespaces, now);
}

/** One line per run. */
export function runTable(runs: readonly TrainingRun[], allNamespaces: boolean, now: Date): string {
  // Only where some run is in a Kueue queue: what preempting it would lose now (status.preemptionCost).
  const queued = runs.some((r) => r.status?.preemptionCost !== undefined);
  const header = [
    ...(allNamespaces ? ["NAMESPACE"] : []),
    "NAME", "PHASE", "STEP", "ATTEMPT", "PREEMPTIONS", "FAILURES", "LOST STEPS", "CHECKPOINT",
    ...(queued ? ["AT RISK"] : []),
    "STORAGE", "AGE",
  ];
  const rows = runs.map((r) => {
    const s = r.status ?? {};
    const step = s.progress ? `${s.progress.step}/${s.progress.totalSteps ?? "?"}` : "-";
    return [
      ...(allNamespaces ? [r.metadata.namespace ?? ""] : []),
      r.metadata.name ?? "",
      s.phase ?? "Pending",
      step,
      String(s.attempt ?? 0),
      String(s.preemptions ?? 0),
      String(s.failures ?? 0),
      String(s.lostSteps ?? 0),
      s.lastCheckpoint ? `${s.lastCheckpoint.step} (${s.lastCheckpoint.reason ?? "?"})` : "-",
      ...(queued ? [atRisk(s.preemptionCost)] : []),
      checkpointStorage(r),
      duration(secondsBetween(String(r.metadata.creationTimestamp ?? ""), now)),
    ];
  });
  return table(header, rows);
}

/** Steps (and their training time) since the newest checkpoint: lost by a stop without a final flush. */
function atRisk(cost: TrainingRunStatus["preemptionCost"]): string {
  if (cost === undefined) return "-";
  return `${cost.stepsAtRisk} steps${cost.secondsAtRisk === undefined ? "" : ` (${duration(cost.secondsAtRisk)})`}`;
}
