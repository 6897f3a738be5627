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

/** The operator's and the trainer's registries, as a scrape of each would read them. */
function registries(): { operator: Registry; trainer: Registry } {
  return { operator: new OperatorMetrics({ runs: () => [], queueDepth: () => 0 }).registry, trainer: new TrainerMetrics().registry };
}

export function exportedSeriesNames(): Set<string> {
  const { operator, trainer } = registries();
  return new Set([...seriesNames(operator), ...seriesNames(trainer)]);
}

/** Metric names (not series) each registry exports, without prom-client's process and Node.js defaults. */
export function documentedMetricNames(): { operator: string[]; trainer: string[] } {
  const own = (registry: Registry) =>
    registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !/^resumable_(trainer_)?(process|nodejs)_/.test(name));
  const { operator, trainer } = registries();
  return { operator: own(operator), trainer: own(trainer) };
}
