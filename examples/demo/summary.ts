// The table the demo ends with, computed from the run's status alone.
import type { AttemptRecord, TrainingRunStatus } from "../../operator/src/api/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { runTime } from "../../operator/src/metrics/run-accounting.js";
import { duration, secondsBetween, table } from "../../operator/src/ctl/table.js";

export function summaryTable(run: TrainingRun): string {
  const s = run.status ?? {};
  const attempts = s.attempts ?? [];
  // From the status alone: the previous pod gone to the next one started. The operator's
  // recovery histogram starts at the disruption instead, so it adds the final flush.
  const restarts = attempts.slice(1).map((a, i) => secondsBetween(attempts[i]?.endTime, a.startTime)).filter((x): x is number => x !== undefined);
  // The same accounting as the operator's goodput metric.
  const time = runTime(s, new Date());
  const result = s.result;
  const rows: [string, string][] = [
    ["phase", s.phase ?? "?"],
    ["attempts", String(s.attempt ?? attempts.length)],
    ["preemptions", String(s.preemptions ?? 0)],
    ["failures", String(s.failures ?? 0)],
    ["lost steps", String(s.lostSteps ?? 0)],
    ["recovery (pod gone → next pod started)", restarts.length ? restarts.map((r) => duration(r)).join(", ") : "-"],
    ["capacity (attempts on spot / on-demand, moves)", capacityRow(attempts, s.capacity?.moves)],
    ["GPU time spot / on-demand / lost", gpuRow(s)],
    ["estimated cost (saving vs all on-demand)", costRow(s)],
    ["goodput (useful training / wall time)", time.wallSeconds > 0 ? `${((100 * time.usefulSeconds) / time.wallSeconds).toFixed(1)} %` : "-"],
    ["final step", String(result?.step ?? s.progress?.step ?? "?")],
    ["final loss", result?.loss !== undefined && result.loss !== null ? Number(result.loss).toFixed(4) : "-"],
    ["final accuracy (training digits)", typeof result?.accuracy === "number" ? `${(100 * result.accuracy).toFixed(1)} %` : "-"],
    ["weights sha256", result?.weightsSha256 ? String(result.weightsSha256).slice(0, 16) + "…" : "-"],
  ];
  return table(["", ""], rows).split("\n").slice(1).join("\n");
}

function capacityRow(attempts: readonly AttemptRecord[], moves: number | undefined): string {
  const on = (type: string) => attempts.filter((a) => (a.capacityType ?? "spot") === type).length;
  return `${on("spot")} / ${on("on-demand")}, ${moves ?? 0} moves`;
}

function gpuRow(s: TrainingRunStatus): string {
  const a = s.accounting;
  if (!a) return "-";
  return `${duration(a.spotGpuSeconds)} / ${duration(a.onDemandGpuSeconds)} / ${duration(a.lostGpuSeconds)}`;
}

function costRow(s: TrainingRunStatus): string {
  const a = s.accounting;
  if (a?.estimatedCost === undefined) return "- (no price table)";
  const unit = a.currency ? ` ${a.currency}` : "";
  return `${a.estimatedCost.toFixed(4)}${unit} (saving ${(a.saving ?? 0).toFixed(4)}${unit})`;
}
