// The chart's PrometheusRule as a Prometheus rule file.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ruleGroups } from "./queries.js";
import type { KubeObject } from "./render.js";

/** Writes the rule's groups to `dir`/rules.yaml, the format promtool and Prometheus read. */
export function writeRuleFile(dir: string, rule: KubeObject): string {
  const file = join(dir, "rules.yaml");
  writeFileSync(file, stringify({ groups: ruleGroups(rule) }));
  return file;
}
