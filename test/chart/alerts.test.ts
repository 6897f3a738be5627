// Every alert fires when its situation happens, and only then: promtool's rule
// unit tests replay made-up series through the chart's PrometheusRule. (The
// end-to-end scenario on a real Prometheus shows they stay silent when healthy.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { ruleGroups } from "./queries.js";
import { findObject, renderChart } from "./render.js";
import { writeRuleFile } from "./rules.js";
import { run } from "./tools.js";

const rule = findObject(await renderChart({ prometheusRule: { enabled: true } }), "PrometheusRule");
const alerts = new Map(ruleGroups(rule).flatMap((g) => g.rules).map((r) => [r.alert ?? "", r]));
const job = /up\{job="([^"]+)"\}/.exec(alerts.get("ResumableOperatorDown")?.expr ?? "")?.[1];

const dir = mkdtempSync(join(tmpdir(), "resumable-alerts-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An expected firing alert: its labels beyond alertname and severity, and its summary. */
function firing(alertname: string, labels: Record<string, string>, summary: string) {
  const r = alerts.get(alertname);
  assert.ok(r, `no alert ${alertname}`);
  return {
    exp_labels: { ...labels, severity: r.labels?.severity },
    exp_annotations: { summary, description: r.annotations?.description },
  };
}

/**
 * One minute per sample, from 0 to 60 min. A run that stopped checkpointing and one that has
 * not; a run whose attempts keep failing and one that failed once; a preemption every minute;
 * no operator up; half of all reconcile passes failing.
 */
const inputSeries = [
  { series: 'resumable_checkpoint_age_seconds{namespace="ml", run="stale", instance="op-1"}', values: "0+60x60" },
  { series: 'resumable_checkpoint_age_seconds{namespace="ml", run="fresh", instance="op-1"}', values: "0+0x60" },
  { series: 'resumable_run_failures{namespace="ml", run="crashy", instance="op-1"}', values: "0 1 2 3+0x57" },
  { series: 'resumable_run_failures{namespace="ml", run="flaky", instance="op-1"}', values: "1+0x60" },
  { series: 'resumable_preemptions_total{reason="TerminationByKubelet", instance="op-1"}', values: "1+1x60" },
  { series: `up{job="${job}", instance="op-1"}`, values: "0+0x60" },
  { series: 'resumable_reconciles_total{result="error", instance="op-1"}', values: "0+10x60" },
  { series: 'resumable_reconciles_total{result="success", instance="op-1"}', values: "0+10x60" },
];

describe("the PrometheusRule's alerts (promtool test rules)", () => {
  it("each fires for its situation, with its labels and summary, and not before its time", async () => {
    const at = (eval_time: string, alertname: string, exp_alerts: unknown[]) => ({ eval_time, alertname, exp_alerts });
    const tests = {
      rule_files: [writeRuleFile(dir, rule)],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: inputSeries,
          alert_rule_test: [
            // 30 min of age is passed at minute 31, then `for: 5m`.
            at("33m", "ResumableCheckpointTooOld", []),
            at("40m", "ResumableCheckpointTooOld", [firing("ResumableCheckpointTooOld", { namespace: "ml", run: "stale" }, "TrainingRun ml/stale has not checkpointed for 40m 0s")]),
            // The third failure comes at minute 3; the run that failed once never alerts.
            at("2m", "ResumableRunFailingRepeatedly", []),
            at("40m", "ResumableRunFailingRepeatedly", [firing("ResumableRunFailingRepeatedly", { namespace: "ml", run: "crashy" }, "TrainingRun ml/crashy: 3 attempts failed in the last hour")]),
            at("5m", "ResumablePreemptionStorm", []),
            at("40m", "ResumablePreemptionStorm", [firing("ResumablePreemptionStorm", {}, "41 preemptions in the last hour")]),
            at("3m", "ResumableOperatorDown", []),
            at("40m", "ResumableOperatorDown", [firing("ResumableOperatorDown", {}, "No resumable operator has been up and leading for 5m")]),
            at("5m", "ResumableReconcileErrors", []),
            at("40m", "ResumableReconcileErrors", [firing("ResumableReconcileErrors", {}, "50% of reconcile passes fail")]),
          ],
        },
      ],
    };
    const file = join(dir, "alerts.test.yaml");
    writeFileSync(file, stringify(tests));
    const result = await run("promtool", ["test", "rules", file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });

  it("covers every alert the chart ships", () => {
    assert.deepEqual([...alerts.keys()].sort(), [
      "ResumableCheckpointTooOld",
      "ResumableOperatorDown",
      "ResumablePreemptionStorm",
      "ResumableReconcileErrors",
      "ResumableRunFailingRepeatedly",
    ]);
  });
});
