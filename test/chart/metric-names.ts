// The series names the operator and the trainer really export, read from
// their registries rather than from a list that could drift.
import type { Registry } from "prom-client";
import { OperatorMetrics } from "../../operator/src/metrics/operator-metrics.js";
import { TrainerMetrics } from "../../trainer/src/metrics/metrics.js";

/** A histogram is scraped as _bucket, _sum and _count series; a summary as itself, _sum and _count. */
function seriesNames(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap(({ name, type }) => {
    switch (String(type)) {
      case "histogram":
        return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
      case "summary":
        return [name, `${name}_sum`, `${name}_count`];
      default:
        return [name];
    }
  });
}

export function exportedSeriesNames(): Set<string> {
  const operator = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
  const trainer = new TrainerMetrics();
  return new Set([...seriesNames(operator.registry), ...seriesNames(trainer.registry)]);
}

/** Metric names (not series) each registry exports, without prom-client's process and Node.js defaults. */
export function documentedMetricNames(): { operator: string[]; trainer: string[] } {
  const own = (registry: Registry, prefix: string) =>
    registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !/^resumable_(trainer_)?(process|nodejs)_/.test(name) && name.startsWith(prefix));
  return {
    operator: own(new OperatorMetrics({ runs: () => [], queueDepth: () => 0 }).registry, "resumable_"),
    trainer: own(new TrainerMetrics().registry, "resumable_trainer_"),
  };
}
