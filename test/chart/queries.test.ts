// Every query the chart ships — dashboard panels, annotations, variables and
// alerts — is PromQL a real Prometheus accepts, over series the operator and
// the trainer really export; promtool accepts the rule file.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { exportedSeriesNames } from "./metric-names.js";
import { startPrometheus, type Prometheus } from "./prometheus.js";
import { dashboardQueries, readDashboards, ruleGroups, ruleQueries, substituteVariables, type Query } from "./queries.js";
import { findObject, renderChart } from "./render.js";
import { writeRuleFile } from "./rules.js";
import { run } from "./tools.js";

const dashboards = readDashboards();
const rule = findObject(await renderChart({ prometheusRule: { enabled: true } }), "PrometheusRule");
const queries: Query[] = [
  ...[...dashboards].flatMap(([file, d]) => dashboardQueries(file, d)),
  ...ruleQueries(ruleGroups(rule)),
];
const VARIABLES = { namespace: "default", run: "mnist" };

describe("dashboards", () => {
  it("there is a fleet dashboard and a per-run dashboard with namespace and run variables", () => {
    assert.deepEqual([...dashboards.keys()].sort(), ["fleet.json", "run.json"]);
    const variables = dashboards.get("run.json")?.templating?.list?.map((v) => v.name);
    assert.deepEqual(variables, ["datasource", "namespace", "run"]);
  });

  it("have unique uids and panel ids, and every panel has a query", () => {
    const uids = [...dashboards.values()].map((d) => d.uid);
    assert.equal(new Set(uids).size, uids.length);
    for (const [file, d] of dashboards) {
      const panels = d.panels.filter((p) => (p as { type?: string }).type !== "row");
      const ids = d.panels.map((p) => (p as { id?: number }).id);
      assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
      for (const p of panels) assert.ok(p.targets?.some((t) => t.expr), `${file} › ${p.title} has no query`);
    }
  });
});

describe("every query", () => {
  let prometheus: Prometheus;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(() => prometheus?.stop());

  it("is valid PromQL for a real Prometheus", async () => {
    const invalid: string[] = [];
    for (const q of queries) {
      const expr = substituteVariables(q.expr, VARIABLES);
      await prometheus.query(expr).catch((err: Error) => invalid.push(`${q.where}: ${err.message}\n  ${expr}`));
    }
    assert.deepEqual(invalid, []);
  });

  it("names only series the operator and the trainer export", () => {
    const exported = exportedSeriesNames();
    const unknown = queries.flatMap((q) =>
      [...q.expr.matchAll(/\bresumable_\w+/g)].map((m) => m[0]).filter((name) => !exported.has(name)).map((name) => `${q.where}: ${name}`),
    );
    assert.deepEqual(unknown, []);
  });
});

describe("the PrometheusRule", () => {
  it("has the five alerts, each with a summary and a runbook link", () => {
    const alerts = ruleGroups(rule).flatMap((g) => g.rules);
    assert.deepEqual(alerts.map((a) => a.alert).sort(), [
      "ResumableCheckpointTooOld",
      "ResumableOperatorDown",
      "ResumablePreemptionStorm",
      "ResumableReconcileErrors",
      "ResumableRunFailingRepeatedly",
    ]);
    for (const a of alerts) {
      assert.ok(a.annotations?.summary, `${a.alert}: summary`);
      assert.match(a.annotations?.description ?? "", /docs\/observability\.md#/, `${a.alert}: runbook`);
      assert.ok(a.labels?.severity, `${a.alert}: severity`);
    }
  });

  it("passes promtool check rules", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resumable-rules-"));
    try {
      const result = await run("promtool", ["check", "rules", writeRuleFile(dir, rule)]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /SUCCESS: 5 rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("thresholds come from values", async () => {
    const tuned = findObject(
      await renderChart({ prometheusRule: { enabled: true, checkpointMaxAgeMinutes: 10, preemptionsPerHourStorm: 25 } }),
      "PrometheusRule",
    );
    const exprs = ruleQueries(ruleGroups(tuned)).map((q) => q.expr).join("\n");
    assert.match(exprs, /resumable_checkpoint_age_seconds\) > 600\b/);
    assert.match(exprs, /increase\(resumable_preemptions_total\[1h\]\)\n\) > 25\b/);
  });
});
