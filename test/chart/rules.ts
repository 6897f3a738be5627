// The chart's PrometheusRule as a Prometheus rule file.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ruleGroups } from "./queries.js";
import { findObject, renderChart } from "./render.js";

/** Renders the chart with the PrometheusRule on and writes its groups to `dir`/rules.yaml. */
export async function writeRuleFile(dir: string, values: object = {}): Promise<string> {
  const rule = findObject(await renderChart({ ...values, prometheusRule: { enabled: true } }), "PrometheusRule");
  const file = join(dir, "rules.yaml");
  writeFileSync(file, stringify({ groups: ruleGroups(rule) }));
  return file;
}
