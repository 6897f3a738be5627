// Every PromQL expression the chart ships: dashboard panels, annotations and
// variables, and the PrometheusRule's alerts and recording rules.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "./render.js";
import { CHART_DIR } from "./tools.js";

export interface Query {
  /** Where it comes from, for failure messages: `fleet.json › Recovery time › A`. */
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  annotations?: { list?: { name: string; expr?: string }[] };
  templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] };
}

export interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
}

export const DASHBOARD_DIR = join(CHART_DIR, "dashboards");

export function readDashboards(): Map<string, Dashboard> {
  return new Map(
    readdirSync(DASHBOARD_DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => [f, JSON.parse(readFileSync(join(DASHBOARD_DIR, f), "utf8")) as Dashboard]),
  );
}

function panelsOf(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** Grafana's `label_values(selector, label)`: the selector is the PromQL part. */
const LABEL_VALUES = /^label_values\((.+),\s*\w+\)$/;

export function dashboardQueries(file: string, d: Dashboard): Query[] {
  const queries: Query[] = [];
  for (const p of panelsOf(d.panels)) {
    for (const t of p.targets ?? []) {
      if (t.expr) queries.push({ where: `${file} › ${p.title} › ${t.refId}`, expr: t.expr });
    }
  }
  for (const a of d.annotations?.list ?? []) {
    if (a.expr) queries.push({ where: `${file} › annotation ${a.name}`, expr: a.expr });
  }
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    const selector = v.type === "query" && q ? LABEL_VALUES.exec(q)?.[1] : undefined;
    if (selector) queries.push({ where: `${file} › variable ${v.name}`, expr: selector });
  }
  return queries;
}

export function ruleGroups(rule: KubeObject): RuleGroup[] {
  return (rule.spec as { groups: RuleGroup[] }).groups;
}

export function ruleQueries(groups: RuleGroup[]): Query[] {
  return groups.flatMap((g) => g.rules.map((r) => ({ where: `${g.name} › ${r.alert ?? r.record}`, expr: r.expr })));
}

/**
 * Grafana's variables replaced the way Grafana would before sending the query.
 * `vars` gives the dashboard variables' values (namespace, run).
 */
export function substituteVariables(expr: string, vars: Record<string, string>, rateInterval = "1m"): string {
  const all: Record<string, string> = { __rate_interval: rateInterval, __interval: "15s", __range: "1h", ...vars };
  return expr.replace(/\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    const value = all[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in ${expr}`);
    return value;
  });
}
