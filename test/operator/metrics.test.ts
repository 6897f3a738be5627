import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { OperatorMetrics } from "../../operator/src/metrics/operator-metrics.js";
import { runTime } from "../../operator/src/metrics/run-accounting.js";
import { RunObserver } from "../../operator/src/metrics/run-observer.js";
import { startMetricsServer } from "../../operator/src/metrics/server.js";

function run(name: string, status: TrainingRunStatus): TrainingRun {
  return { apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", metadata: { name, namespace: "team" }, spec: { training: {} }, status };
}

async function value(metrics: OperatorMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

const t = (s: number) => new Date(Date.UTC(2026, 10, 28, 12, 0, s)).toISOString();
/** A pass long after the facts: the observer must go by the API's timestamps. */
const late = new Date(t(600));

describe("run time accounting", () => {
  it("charges lost steps at the pace of the attempt that lost them", () => {
    // Attempt 1 trains steps 0..100 in 100 s; attempt 2 resumes from 80: 20 steps, 20 s lost.
    const status: TrainingRunStatus = {
      startTime: t(0),
      completionTime: t(200),
      attempts: [
        { attempt: 1, pod: "r-1", startTime: t(0), endTime: t(100), reachedStep: 100 },
        { attempt: 2, pod: "r-2", startTime: t(110), endTime: t(200), resumedFromStep: 80, reachedStep: 170 },
      ],
    };
    assert.deepEqual(runTime(status, new Date(t(500))), { wallSeconds: 200, usefulSeconds: 170, lostSeconds: 20 });
  });
});

describe("OperatorMetrics", () => {
  it("counts runs by phase and keeps per-run series only for runs in the cache", async () => {
    let runs = [
      run("a", { phase: "Running", progress: { step: 12 }, lastCheckpoint: { step: 10, time: new Date(Date.now() - 30_000).toISOString() } }),
      run("b", { phase: "Running" }),
      run("c", { phase: "Succeeded" }),
    ];
    const metrics = new OperatorMetrics({ runs: () => runs, queueDepth: () => 3 });
    assert.equal(await value(metrics, "resumable_runs", { phase: "Running" }), 2);
    assert.equal(await value(metrics, "resumable_runs", { phase: "Failed" }), 0);
    assert.equal(await value(metrics, "resumable_progress_step", { run: "a" }), 12);
    const age = await value(metrics, "resumable_checkpoint_age_seconds", { run: "a" });
    assert.ok(age !== undefined && age >= 30);
    assert.equal(await value(metrics, "resumable_workqueue_depth"), 3);
    runs = [runs[1]!];
    assert.equal(await value(metrics, "resumable_progress_step", { run: "a" }), undefined, "a deleted run leaves no series");
  });

  it("names every metric with the resumable_ prefix", () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    for (const { name } of metrics.registry.getMetricsAsArray()) assert.match(name, /^resumable_/);
  });
});

describe("RunObserver", () => {
  it("counts each ended attempt once, by budget and signal", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const before: TrainingRunStatus = { attempt: 1, attempts: [{ attempt: 1, pod: "r-1" }] };
    const after: TrainingRunStatus = {
      attempt: 2,
      lostSteps: 20,
      attempts: [
        { attempt: 1, pod: "r-1", endTime: t(100), endReason: "Preempted", endDetail: "EvictionByEvictionAPI" },
        { attempt: 2, pod: "r-2" },
      ],
    };
    observer.statusWritten(before, after, new Date());
    observer.statusWritten(after, after, new Date());
    assert.equal(await value(metrics, "resumable_preemptions_total", { reason: "EvictionByEvictionAPI" }), 1);
    assert.equal(await value(metrics, "resumable_attempts_total"), 1);
    assert.equal(await value(metrics, "resumable_lost_steps_total"), 20);
    const failed: TrainingRunStatus = {
      ...after,
      attempts: [after.attempts![0]!, { attempt: 2, pod: "r-2", endTime: t(200), endReason: "Failed", endDetail: "exit code 1; weird" }],
    };
    observer.statusWritten(after, failed, new Date());
    assert.equal(await value(metrics, "resumable_failures_total", { reason: "Other" }), 1, "free text never becomes a label");
  });

  it("counts a Kueue quota preemption under its own reason, QuotaPreempted, never as a failure", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const first = { attempt: 1, pod: "r-1" };
    new RunObserver(metrics).statusWritten({ attempt: 1, attempts: [first] }, {
      attempt: 2,
      attempts: [{ ...first, endTime: t(100), endReason: "Preempted", endDetail: "QuotaPreempted" }, { attempt: 2, pod: "r-2" }],
    }, new Date());
    assert.equal(await value(metrics, "resumable_preemptions_total", { reason: "QuotaPreempted" }), 1);
    assert.equal(await value(metrics, "resumable_failures_total"), undefined);
  });

  it("counts a reclaim notice, its early checkpoint and its lead time once each, by a bounded source", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const running: TrainingRunStatus = { attempt: 1, attempts: [{ attempt: 1, pod: "r-1" }] };
    const noticed: TrainingRunStatus = { attempt: 1, attempts: [{ attempt: 1, pod: "r-1", noticeAt: t(10), noticeSource: "aws-spot-itn" }] };
    const saved: TrainingRunStatus = { attempt: 1, attempts: [{ ...noticed.attempts![0]!, earlyCheckpointStep: 42 }] };
    const ended: TrainingRunStatus = { attempt: 1, attempts: [{ ...saved.attempts![0]!, endTime: t(40), endReason: "Preempted", noticeLeadSeconds: 30 }] };
    observer.statusWritten(running, noticed, new Date());
    observer.statusWritten(noticed, saved, new Date());
    observer.statusWritten(saved, ended, new Date());
    observer.statusWritten(ended, ended, new Date());
    assert.equal(await value(metrics, "resumable_reclaim_notices_total", { source: "aws-spot-itn" }), 1);
    assert.equal(await value(metrics, "resumable_early_checkpoints_total", { source: "aws-spot-itn" }), 1);
    const lead = (await metrics.noticeLead.get()).values;
    const of = (name: string) => lead.find((v) => v.metricName === name && v.labels.source === "aws-spot-itn")?.value;
    assert.deepEqual([of("resumable_notice_lead_seconds_count"), of("resumable_notice_lead_seconds_sum")], [1, 30]);
    const odd: TrainingRunStatus = { attempt: 1, attempts: [{ attempt: 1, pod: "r-1", noticeAt: t(10), noticeSource: "Some Handler: node going away" }] };
    observer.statusWritten(running, odd, new Date());
    assert.equal(await value(metrics, "resumable_reclaim_notices_total", { source: "other" }), 1, "free text never becomes a label");
  });

  it("observes a recovery once: preempted attempt's end to the next trainer running", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const status: TrainingRunStatus = {
      attempt: 2,
      attempts: [
        { attempt: 1, pod: "r-1", endTime: t(100), endReason: "Preempted" },
        { attempt: 2, pod: "r-2" },
      ],
    };
    const pending: V1Pod = { metadata: { name: "r-2" }, status: { phase: "Pending" } };
    const running: V1Pod = {
      metadata: { name: "r-2" },
      status: { containerStatuses: [{ name: "trainer", image: "", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: new Date(t(104)) } } }] },
    };
    observer.podsSeen("team/r", "r", status, [pending], late);
    observer.podsSeen("team/r", "r", status, [running], late);
    observer.podsSeen("team/r", "r", status, [running], late);
    const histogram = await metrics.recoveryDuration.get();
    assert.equal(histogram.values.find((v) => v.metricName === "resumable_recovery_duration_seconds_count")?.value, 1);
    assert.equal(histogram.values.find((v) => v.metricName === "resumable_recovery_duration_seconds_sum")?.value, 4);
  });
});

describe("capacity and cost metrics", () => {
  const prices = { perGpu: { spot: 0.36, onDemand: 3.6 } };
  const spotRun = (status: TrainingRunStatus): TrainingRun => ({ ...run("s", status), spec: { training: {}, scheduling: { spot: true } } });

  it("moves the fleet counters by what a status write added to the run's accounting, once", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const before: TrainingRunStatus = { accounting: { spotGpuSeconds: 100, onDemandGpuSeconds: 0, lostGpuSeconds: 0, spotSeconds: 100, spotCost: 0.01, allOnDemandCost: 0.1 } };
    const after: TrainingRunStatus = {
      capacity: { type: "on-demand", reason: "AfterPreemptions", moves: 1 },
      accounting: { spotGpuSeconds: 100, onDemandGpuSeconds: 50, lostGpuSeconds: 30, spotSeconds: 100, onDemandSeconds: 50, spotCost: 0.01, onDemandCost: 0.05, allOnDemandCost: 0.15 },
    };
    observer.statusWritten(before, after, new Date());
    observer.statusWritten(after, after, new Date());
    assert.equal(await value(metrics, "resumable_gpu_seconds_total", { capacity_type: "on-demand" }), 50);
    assert.equal(await value(metrics, "resumable_gpu_seconds_total", { capacity_type: "spot" }), undefined, "spot did not change");
    assert.equal(await value(metrics, "resumable_capacity_seconds_total", { capacity_type: "on-demand" }), 50);
    assert.equal(await value(metrics, "resumable_lost_gpu_seconds_total"), 30);
    assert.equal(await value(metrics, "resumable_estimated_cost_total", { capacity_type: "on-demand" }), 0.05);
    assert.ok(Math.abs((await value(metrics, "resumable_all_on_demand_cost_total"))! - 0.05) < 1e-9);
    assert.equal(await value(metrics, "resumable_capacity_moves_total", { to: "on-demand", reason: "AfterPreemptions" }), 1);
  });

  it("reports per run the live GPU-seconds by capacity type, cost and saving, and whether it is on on-demand", async () => {
    const started = new Date(Date.now() - 3600_000).toISOString();
    const status: TrainingRunStatus = {
      capacity: { type: "on-demand", reason: "PendingOnSpot" },
      accounting: { spotGpuSeconds: 0, onDemandGpuSeconds: 0, lostGpuSeconds: 0 },
      attempts: [{ attempt: 1, pod: "s-1", capacityType: "on-demand", startTime: started }],
    };
    const metrics = new OperatorMetrics({ runs: () => [spotRun(status)], queueDepth: () => 0, prices });
    const onDemand = (await value(metrics, "resumable_run_gpu_seconds", { run: "s", capacity_type: "on-demand" }))!;
    assert.ok(onDemand >= 3600 && onDemand < 3700, String(onDemand));
    assert.equal(await value(metrics, "resumable_run_gpu_seconds", { run: "s", capacity_type: "spot" }), 0);
    const cost = (await value(metrics, "resumable_run_estimated_cost", { run: "s" }))!;
    assert.ok(cost >= 3.6 && cost < 3.7, String(cost));
    assert.equal(await value(metrics, "resumable_run_cost_saving", { run: "s" }), 0, "all on on-demand saves nothing");
    assert.equal(await value(metrics, "resumable_run_on_demand", { run: "s" }), 1);
  });
});

describe("RunObserver recovery start", () => {
  it("counts from the first disruption mark on the old pod when it saw one", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const evicted: V1Pod = {
      metadata: { name: "r-1" },
      status: { conditions: [{ type: "DisruptionTarget", status: "True", lastTransitionTime: new Date(t(95)) }] },
    };
    observer.podsSeen("team/r", "r", { attempt: 1, attempts: [{ attempt: 1, pod: "r-1" }] }, [evicted], late);
    const running: V1Pod = {
      metadata: { name: "r-2" },
      status: { containerStatuses: [{ name: "trainer", image: "", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: new Date(t(104)) } } }] },
    };
    const status: TrainingRunStatus = {
      attempt: 2,
      attempts: [
        { attempt: 1, pod: "r-1", endTime: t(100), endReason: "Preempted" },
        { attempt: 2, pod: "r-2" },
      ],
    };
    observer.podsSeen("team/r", "r", status, [running], late);
    const histogram = await metrics.recoveryDuration.get();
    assert.equal(histogram.values.find((v) => v.metricName === "resumable_recovery_duration_seconds_sum")?.value, 9);
  });
});

describe("RunObserver gang restart", () => {
  it("counts from the first mark on any rank to every rank of the next attempt having reported a step, once", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const ranks = (attempt: number) => [0, 1, 2].map((rank) => ({ rank, pod: `r-${attempt}-${rank}` }));
    const evicted: V1Pod = {
      metadata: { name: "r-1-1" },
      status: { conditions: [{ type: "DisruptionTarget", status: "True", lastTransitionTime: new Date(t(95)) }] },
    };
    observer.podsSeen("team/r", "r", { attempt: 1, attempts: [{ attempt: 1, pod: "r-1-0", ranks: ranks(1) }] }, [{ metadata: { name: "r-1-0" } }, evicted], late);
    const reporting = (rank: number, second: number): V1Pod => ({
      metadata: { name: `r-2-${rank}`, annotations: { "resumable.dev/progress": JSON.stringify({ step: 301, updatedAt: t(second) }) } },
    });
    const status: TrainingRunStatus = {
      attempt: 2,
      attempts: [
        { attempt: 1, pod: "r-1-0", ranks: ranks(1), endTime: t(100), endReason: "Preempted", disruptedRank: 1 },
        { attempt: 2, pod: "r-2-0", ranks: ranks(2) },
      ],
    };
    const count = async () => (await metrics.gangRestart.get()).values.find((v) => v.metricName === "resumable_gang_restart_seconds_count")?.value;
    observer.podsSeen("team/r", "r", status, [reporting(0, 103), reporting(1, 105), { metadata: { name: "r-2-2" } }], late);
    assert.equal(await count(), 0, "not while rank 2 has not reported");
    observer.podsSeen("team/r", "r", status, [reporting(0, 103), reporting(1, 105), reporting(2, 104)], late);
    observer.podsSeen("team/r", "r", status, [reporting(0, 106), reporting(1, 106), reporting(2, 106)], late);
    assert.equal(await count(), 1);
    const sum = (await metrics.gangRestart.get()).values.find((v) => v.metricName === "resumable_gang_restart_seconds_sum")?.value;
    assert.equal(sum, 10, "from rank 1's mark at 95 s to the last rank's report at 105 s");
  });
});

describe("RunObserver live timing", () => {
  it("times a recovery it watches happen by its own clock, finer than the API's seconds", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const observer = new RunObserver(metrics);
    const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 12, 0, 0) + s * 1000);
    const evicted: V1Pod = {
      metadata: { name: "r-1" },
      status: { conditions: [{ type: "DisruptionTarget", status: "True", lastTransitionTime: at(95) }] },
    };
    observer.podsSeen("team/r", "r", { attempt: 1, attempts: [{ attempt: 1, pod: "r-1" }] }, [evicted], at(95.4));
    const running: V1Pod = {
      metadata: { name: "r-2" },
      status: { containerStatuses: [{ name: "trainer", image: "", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: at(96) } } }] },
    };
    const status: TrainingRunStatus = {
      attempt: 2,
      attempts: [
        { attempt: 1, pod: "r-1", endTime: at(95.9).toISOString(), endReason: "Preempted" },
        { attempt: 2, pod: "r-2" },
      ],
    };
    observer.podsSeen("team/r", "r", status, [running], at(96.7));
    const histogram = await metrics.recoveryDuration.get();
    const sum = histogram.values.find((v) => v.metricName === "resumable_recovery_duration_seconds_sum")?.value ?? 0;
    assert.ok(Math.abs(sum - 1.3) < 1e-9, `recovery ${sum}`);
  });
});

describe("metrics server", () => {
  it("serves /metrics, /healthz always, /readyz only when ready", async () => {
    let ready = false;
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const server = await startMetricsServer({ registry: metrics.registry, host: "127.0.0.1", port: 0, isReady: () => ready });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      ready = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const body = await (await fetch(`${base}/metrics`)).text();
      assert.match(body, /# TYPE resumable_reconciles_total counter/);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
