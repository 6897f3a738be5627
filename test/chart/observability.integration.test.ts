// The dashboards and alerts proven on a real Prometheus: the chart installed
// into the local cluster, Prometheus scraping the operator and the trainers
// through the jobs the chart's ServiceMonitor and PodMonitor describe, a run
// preempted mid-way, then every panel query, annotation, variable and alert
// expression evaluated over that run.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ENV, parseProgress, PROGRESS_ANNOTATION } from "@resumable/protocol";
import { eventually, useCluster } from "../support/cluster.js";
import { helmInstall } from "./install.js";
import { startPrometheus, type Prometheus } from "./prometheus.js";
import { dashboardQueries, readDashboards, ruleGroups, ruleQueries, substituteVariables } from "./queries.js";
import { findObject, NAMESPACE, renderChart, type KubeObject } from "./render.js";
import { writeRuleFile } from "./rules.js";
import { RUN_NAMESPACE, runDriver } from "./runs.js";
import { scrapeJobsFor } from "./scrape-config.js";

const RUN = "observed";
const LOST_RUN = "lost-node";
const SCRAPE = "2s";
const MONITORING = {
  metrics: { serviceMonitor: { enabled: true, interval: SCRAPE } },
  trainer: { podMonitor: { enabled: true, interval: SCRAPE } },
  prometheusRule: { enabled: true },
};

const WATCH_RESTARTS = "fleet.json › Watch restarts by resource and reason › A";

/**
 * Queries that stay empty in a healthy run with one graceful preemption: nothing
 * failed, no pass erred, no watch had to restart. Everything else must return series.
 */
const EMPTY_WHEN_HEALTHY = new Set([
  "fleet.json › Failures per hour by reason › A",
  "fleet.json › Reconcile errors by stage › A",
  WATCH_RESTARTS,
  // No run here has a fallback policy: nothing moves between spot and on-demand.
  "fleet.json › Moves between spot and on-demand (1h) › A",
]);

/** Hourly prices of the local cluster's instance types, so the cost panels have series. */
const PRICES = { currency: "USD", instanceTypes: { "n1-standard-4": { spot: 0.18, onDemand: 0.54 }, "e2-standard-4": { spot: 0.05, onDemand: 0.13 } } };

// A cluster of its own, not the shared one: the chart and Prometheus install cluster-wide objects.
const c = useCluster();

/** The operator pods' restarts and why the last one ended: what a counter that lost a count needs told. */
async function operatorRestarts(): Promise<string> {
  const pods = (await c.core.listNamespacedPod({ namespace: NAMESPACE })).items;
  return pods.map((p) => p.status?.containerStatuses?.map((s) => `${p.metadata?.name}/${s.name}: ${s.restartCount} restarts, last ended ${JSON.stringify(s.lastState?.terminated ?? null)}`).join("; ")).join("; ");
}

describe("observability on a real Prometheus", { timeout: 20 * 60_000 }, () => {
  let prometheus: Prometheus;
  let rule: KubeObject;
  let dir: string;
  // Inside the suite: these hooks run after useCluster's, once the cluster is up.
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "resumable-observability-"));
    const monitors = await renderChart(MONITORING);
    rule = findObject(monitors, "PrometheusRule");
    prometheus = await startPrometheus({
      scrapeJobs: scrapeJobsFor(monitors, c.cluster.kubeconfig),
      ruleFiles: [writeRuleFile(dir, rule)],
      interval: SCRAPE,
    });
    // The cluster has no Prometheus Operator CRDs: install without the monitors, which
    // the Prometheus above stands in for.
    await helmInstall(c.cluster.kubeconfig, { trainer: { namespaces: [RUN_NAMESPACE] }, prices: PRICES });
  }, { timeout: 10 * 60_000 });

  after(async () => {
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let start: Date;
  let end: Date;
  const range = (expr: string) => prometheus.queryRange(expr, start, end, 2);

  test("Prometheus scrapes the operator through the ServiceMonitor's job", async () => {
    await eventually("the operator's target up", async () => {
      const up = await prometheus.query('up{job="resumable-metrics"} == 1');
      return up.length > 0 ? up : undefined;
    }, 120_000);
  });

  test("a run evicted and a run on a node lost without warning are scraped, attempt by attempt", async () => {
    start = new Date();
    const driver = runDriver(c.kc, c.core);
    // The first attempt is disrupted only once Prometheus holds a sample of it: the attempt's
    // pod lives only until step 300, and a trainer that gets there before the pod is first
    // discovered and scraped leaves no series of attempt 1, whatever the dashboards do.
    const scraped = (attempt: number) => async () => {
      await eventually(`attempt ${attempt} of ${RUN} scraped`, async () => {
        const series = await prometheus.query(`resumable_trainer_step{namespace="${RUN_NAMESPACE}", run="${RUN}", attempt="${attempt}"}`);
        return series.length > 0 ? series : undefined;
      }, 120_000);
    };
    const evicted = await driver.preemptedRun(RUN, { step: 300, totalSteps: 1200, beforeDisruption: scraped(1) });
    assert.equal(evicted.status?.phase, "Succeeded", JSON.stringify(evicted.status?.conditions));
    assert.equal(evicted.status?.preemptions, 1);
    // Lost between two periodic checkpoints (every 50 steps), after a report the operator saw:
    // the loss loses steps. At full speed the trainer's last report was often the one right
    // after a commit (CI once saw lostSteps 0), so here steps take 100 ms, the trainer reports
    // every second, and the node dies right after a report 10-25 steps past a checkpoint:
    // the next commit is at least 2.5 s away.
    const lost = await driver.preemptedRun(LOST_RUN, {
      step: 130,
      totalSteps: 400,
      training: { stepDelayMs: 100 },
      env: [{ name: ENV.progressSeconds, value: "1" }],
      disrupt: async (pod) => {
        const name = pod.metadata?.name ?? "";
        await eventually(`${name} reporting a step 10-25 past a checkpoint`, async () => {
          const found = await c.core.readNamespacedPod({ name, namespace: RUN_NAMESPACE });
          const step = parseProgress(found.metadata?.annotations?.[PROGRESS_ANNOTATION])?.step ?? 0;
          return step % 50 >= 10 && step % 50 <= 25 ? step : undefined;
        }, 60_000);
        await c.kubectl(["annotate", "node", pod.spec?.nodeName ?? "", "resumable.dev/fault=hard-loss"]);
        // The next attempt, rendered from the spec as it is now, trains the rest at full speed.
        await c.kubectl(["patch", "trainingrun", LOST_RUN, "-n", RUN_NAMESPACE, "--type=merge", "-p", JSON.stringify({ spec: { training: { stepDelayMs: 0 } } })]);
      },
    });
    assert.equal(lost.status?.phase, "Succeeded", JSON.stringify(lost.status?.conditions));
    assert.ok((lost.status?.lostSteps ?? 0) > 0, `lostSteps ${lost.status?.lostSteps}`);
    // A few more scrapes and rule evaluations after the end.
    await new Promise((r) => setTimeout(r, 10_000));
    end = new Date();
    const attempts = await range(`count by (attempt) (resumable_trainer_step{namespace="${RUN_NAMESPACE}", run="${RUN}"})`);
    assert.deepEqual(attempts.map((s) => s.metric.attempt).sort(), ["1", "2"], await operatorRestarts());
  });

  test("every panel, annotation and variable query returns series for the run", async () => {
    const failures: string[] = [];
    for (const [file, d] of readDashboards()) {
      for (const q of dashboardQueries(file, d)) {
        const expr = substituteVariables(q.expr, { namespace: RUN_NAMESPACE, run: RUN });
        const series = await range(expr).catch((err: Error) => {
          failures.push(`${q.where}: ${err.message}`);
          return undefined;
        });
        if (series === undefined) continue;
        const expectEmpty = EMPTY_WHEN_HEALTHY.has(q.where);
        if (series.length === 0 && !expectEmpty) failures.push(`${q.where}: no series\n  ${expr}`);
        // The apiserver ends every watch after its timeout (5–10 min, drawn per watch): a watch
        // "closed" and started again is routine, and an operator living past that shows one. A
        // healthy run has no restart for any other reason (error, expired, idle).
        const unhealthy = q.where === WATCH_RESTARTS ? series.filter((s) => s.metric.reason !== "closed") : series;
        if (unhealthy.length > 0 && expectEmpty) failures.push(`${q.where}: series in a healthy run\n  ${expr}\n  ${JSON.stringify(unhealthy.map((s) => s.metric))}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test("the panels count what happened: two preemptions, four attempts, recoveries, lost steps, two successes", async () => {
    const dashboards = readDashboards();
    const panelExpr = (file: string, title: string) => {
      const panel = dashboards.get(file)?.panels.find((p) => p.title === title);
      const expr = panel?.targets?.[0]?.expr;
      if (!expr) throw new Error(`no panel ${file} › ${title}`);
      const rangeSeconds = Math.ceil((end.getTime() - start.getTime()) / 1000);
      return substituteVariables(expr, { namespace: RUN_NAMESPACE, run: RUN, __range: `${rangeSeconds}s` });
    };
    /** Each series' value at the end of the scenario. */
    const atEnd = async (file: string, title: string) => {
      const series = await prometheus.queryRange(panelExpr(file, title), end, end, 1);
      return series.map((s) => ({ labels: s.metric, value: Number(s.values?.at(-1)?.[1]) }));
    };
    const total = (values: { value: number }[]) => values.reduce((sum, v) => sum + v.value, 0);

    const preemptions = await atEnd("fleet.json", "Preemptions per hour by reason");
    // The operator's counters start from zero in a new process: a restart would lose one.
    assert.equal(total(preemptions), 2, `${JSON.stringify(preemptions)}; ${await operatorRestarts()}`);
    assert.ok(total(await atEnd("fleet.json", "Attempts started (1h)")) >= 4);
    const phases = await atEnd("fleet.json", "Runs by phase");
    assert.equal(phases.find((p) => p.labels.phase === "Succeeded")?.value, 2, JSON.stringify(phases));
    const lostWork = await atEnd("fleet.json", "Lost work per hour");
    assert.ok(lostWork.every((s) => s.value > 0), JSON.stringify(lostWork));
    const [recovery] = await atEnd("fleet.json", "Recovery time p50 / p95");
    assert.ok(recovery && recovery.value > 0, `recovery p50: ${recovery?.value}`);
    assert.equal(total(await atEnd("run.json", "Attempts seen")), 2);
  });

  test("the capacity and cost panels account for the spot run: GPU time on spot only, time lost to the restart, a cost and a saving", async () => {
    const dashboards = readDashboards();
    const atEnd = async (file: string, title: string, refId = "A") => {
      const expr = dashboards.get(file)?.panels.find((p) => p.title === title)?.targets?.find((t) => t.refId === refId)?.expr;
      if (!expr) throw new Error(`no panel ${file} › ${title} › ${refId}`);
      const series = await prometheus.queryRange(substituteVariables(expr, { namespace: RUN_NAMESPACE, run: RUN }), end, end, 1);
      return series.map((x) => ({ labels: x.metric, value: Number(x.values?.at(-1)?.[1]) }));
    };
    const gpu = await atEnd("run.json", "GPU time by capacity type");
    assert.ok((gpu.find((x) => x.labels.capacity_type === "spot")?.value ?? 0) > 0, JSON.stringify(gpu));
    assert.equal(gpu.find((x) => x.labels.capacity_type === "on-demand")?.value, 0, JSON.stringify(gpu));
    const [lost] = await atEnd("run.json", "Lost GPU time");
    assert.ok(lost && lost.value > 0, `the restart gap is lost time: ${JSON.stringify(lost)}`);
    const [cost] = await atEnd("run.json", "Estimated cost / saving", "A");
    const [saving] = await atEnd("run.json", "Estimated cost / saving", "B");
    assert.ok(cost && cost.value > 0, JSON.stringify(cost));
    assert.ok(saving && saving.value > 0, `spot at a third of the price saves despite the restart: ${JSON.stringify(saving)}`);
    const [perHour] = await atEnd("run.json", "Preemptions per spot hour");
    assert.ok(perHour && perHour.value > 0, JSON.stringify(perHour));
    const [onDemand] = await atEnd("run.json", "On on-demand");
    assert.equal(onDemand?.value, 0);
    const fleet = await atEnd("fleet.json", "GPU hours by capacity type");
    assert.ok((fleet.find((x) => x.labels.capacity_type === "spot")?.value ?? 0) > 0, JSON.stringify(fleet));
  });

  test("every rule evaluates without error and no alert fires for a healthy run", async () => {
    for (const q of ruleQueries(ruleGroups(rule))) {
      assert.deepEqual(await range(q.expr), [], `${q.where} fired: ${q.expr}`);
    }
    const { groups } = await prometheus.api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>("/api/v1/rules");
    const rules = groups.flatMap((g) => g.rules);
    assert.equal(rules.length, 5);
    for (const r of rules) assert.equal(r.health, "ok", `${r.name}: ${r.lastError}`);
  });

  test("ResumableOperatorDown's expression fires once the operator is scaled to zero", async () => {
    const down = ruleQueries(ruleGroups(rule)).find((q) => q.where.endsWith("ResumableOperatorDown"));
    assert.ok(down);
    await c.kubectl(["scale", "deployment/resumable", "-n", NAMESPACE, "--replicas=0"]);
    await eventually("ResumableOperatorDown's expression returning a series", async () => {
      const firing = await prometheus.query(down.expr);
      return firing.length > 0 ? firing : undefined;
    }, 120_000);
  });
});
