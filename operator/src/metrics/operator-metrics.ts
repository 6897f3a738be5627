import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { PHASES, type Accounting } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { toDate } from "../model/time.js";
import { liveAccounting, type PriceTable } from "../model/accounting.js";
import { runTime } from "./run-accounting.js";

const PREFIX = "resumable_";

/** Where scrape-time gauges read from: the caches and the queue, never the apiserver. */
export interface MetricsSources {
  /** The runs to report: empty on a standby replica, so only the leader's series count. */
  runs(): readonly TrainingRun[];
  queueDepth(): number;
  /** Whether this replica holds the Lease; always true when unset (no leader election). */
  isLeader?(): boolean;
  /** The price table of the cost gauges; unset: no cost series. */
  prices?: PriceTable;
}

/**
 * Every metric the operator exports (docs/metrics.md). Per-run gauges are computed at
 * scrape time from the run cache, so a deleted run's series vanish with it; counters carry
 * only bounded labels (phase, reason, resource), never a run name.
 */
export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: `${PREFIX}reconciles_total`,
    help: "Reconcile passes run, by result (success, error).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: `${PREFIX}reconcile_errors_total`,
    help: "Reconcile passes that failed, by the step that failed (reconcile, action, status, event).",
    labelNames: ["stage"] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: `${PREFIX}reconcile_duration_seconds`,
    help: "Time one reconcile pass takes, writes included.",
    // Fine around the 100 ms goal (docs/benchmarks.md), so a p99 read off the buckets says more than "under 0.5 s".
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /**
   * The operator's own share of a pass: the pass's duration above also waits for its API
   * writes, each one apiserver round trip, which no code in the operator can shorten.
   */
  readonly reconcileDecideDuration = new Histogram({
    name: `${PREFIX}reconcile_decide_duration_seconds`,
    help: "Time one reconcile pass spends deciding from the caches (observe and reconcile), without its API writes.",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  /** Each API write's round trip, by write (createPod, patchRunStatus, ...) and result. */
  readonly apiWriteDuration = new Histogram({
    name: `${PREFIX}api_write_duration_seconds`,
    help: "Time one API write takes as the operator sees it, by write and result (success, error).",
    labelNames: ["write", "result"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: `${PREFIX}workqueue_retries_total`,
    help: "Keys put back on the queue with backoff after a failed pass.",
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: `${PREFIX}watch_restarts_total`,
    help: "Watches restarted, by resource and reason (error, expired, idle, closed).",
    labelNames: ["resource", "reason"] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: `${PREFIX}attempts_total`,
    help: "Trainer attempts (pods) started.",
    registers: [this.registry],
  });
  readonly preemptions = new Counter({
    name: `${PREFIX}preemptions_total`,
    help: "Attempts ended by a preemption, by the signal that showed it.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: `${PREFIX}failures_total`,
    help: "Attempts ended by a failure, by the signal that showed it.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly recoveryDuration = new Histogram({
    name: `${PREFIX}recovery_duration_seconds`,
    help: "From the disruption of a preempted attempt to the next attempt's trainer running.",
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  readonly gangRestart = new Histogram({
    name: `${PREFIX}gang_restart_seconds`,
    help: "From the disruption of a preempted gang's attempt to every rank of the next attempt having reported a step.",
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  readonly reclaimNotices = new Counter({
    name: `${PREFIX}reclaim_notices_total`,
    help: "Reclaim notices seen on the node of a running attempt, by notice source (docs/reclaim-notices.md).",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly earlyCheckpoints = new Counter({
    name: `${PREFIX}early_checkpoints_total`,
    help: "Checkpoints trainers saved on the request a reclaim notice caused, by notice source.",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly noticeLead = new Histogram({
    name: `${PREFIX}notice_lead_seconds`,
    help: "From a reclaim notice to the end of the attempt it announced: the time the notice bought.",
    labelNames: ["source"] as const,
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  readonly lostSteps = new Counter({
    name: `${PREFIX}lost_steps_total`,
    help: "Training steps that had to be trained again after a disruption.",
    registers: [this.registry],
  });
  readonly lostSeconds = new Counter({
    name: `${PREFIX}lost_seconds_total`,
    help: "Trainer time spent on the lost steps, at the pace of the attempt that lost them.",
    registers: [this.registry],
  });

  // Capacity and cost: counters move when an attempt's accounting lands in the status
  // (its end, its successor's report), labelled by capacity type only.
  readonly gpuSeconds = new Counter({
    name: `${PREFIX}gpu_seconds_total`,
    help: "GPU-seconds of ended attempts, by capacity type (spot, on-demand).",
    labelNames: ["capacity_type"] as const,
    registers: [this.registry],
  });
  readonly capacitySeconds = new Counter({
    name: `${PREFIX}capacity_seconds_total`,
    help: "Attempt time of ended attempts, by capacity type: the denominator of preemptions per spot hour.",
    labelNames: ["capacity_type"] as const,
    registers: [this.registry],
  });
  readonly lostGpuSeconds = new Counter({
    name: `${PREFIX}lost_gpu_seconds_total`,
    help: "GPU-seconds lost to preemptions and moves: recomputed steps plus restart gaps.",
    registers: [this.registry],
  });
  readonly estimatedCost = new Counter({
    name: `${PREFIX}estimated_cost_total`,
    help: "Estimated cost of ended attempts from the price table, by capacity type.",
    labelNames: ["capacity_type"] as const,
    registers: [this.registry],
  });
  readonly allOnDemandCost = new Counter({
    name: `${PREFIX}all_on_demand_cost_total`,
    help: "What the same useful training would have cost all on on-demand: the saving is this minus the estimated cost.",
    registers: [this.registry],
  });
  readonly capacityMoves = new Counter({
    name: `${PREFIX}capacity_moves_total`,
    help: "Runs moved between spot and on-demand, by the capacity moved to and why (AfterPreemptions, PendingOnSpot, ReturnToSpot).",
    labelNames: ["to", "reason"] as const,
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: `${PREFIX}workqueue_depth`,
      help: "Run keys waiting for a worker.",
      registers,
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: `${PREFIX}leader`,
      help: "1 on the replica that holds the leader Lease (and reconciles), 0 on a standby.",
      registers,
      collect() {
        this.set(sources.isLeader?.() === false ? 0 : 1);
      },
    });
    new Gauge({
      name: `${PREFIX}runs`,
      help: "TrainingRuns by phase.",
      labelNames: ["phase"] as const,
      registers,
      collect() {
        const counts = new Map<string, number>([...PHASES, "Unknown"].map((phase) => [phase, 0]));
        for (const run of sources.runs()) {
          const phase = run.status?.phase ?? "Unknown";
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, count] of counts) this.set({ phase }, count);
      },
    });
    // From status, not the pod: progress writes are coalesced, so it may trail the trainer by
    // one --progress-write-interval-seconds (less than a usual scrape interval).
    this.perRunGauge(sources, "progress_step", "The run's step as its status records it: the trainer's newest report, written at most --progress-write-interval-seconds late.", (run) => run.status?.progress?.step);
    // The run's own counts, from its status: what a per-run alert or annotation needs, where
    // the counters above carry reasons instead of run names.
    this.perRunGauge(sources, "run_preemptions", "Attempts of the run ended by a preemption so far.", (run) => run.status?.preemptions ?? 0);
    this.perRunGauge(sources, "run_failures", "Attempts of the run ended by a failure so far.", (run) => run.status?.failures ?? 0);
    this.perRunGauge(sources, "checkpoint_age_seconds", "Time since the run's newest committed checkpoint.", (run, now) => {
      // Only while training can happen: a finished or suspended run's checkpoint just ages.
      const time = toDate(run.status?.lastCheckpoint?.time);
      const training = !run.status?.completionTime && run.status?.phase !== "Suspended";
      return time && training ? Math.max(0, (now.getTime() - time.getTime()) / 1000) : undefined;
    });
    this.perRunGauge(sources, "goodput_ratio", "Useful training time over the run's wall time so far.", (run, now) => {
      const { wallSeconds, usefulSeconds } = runTime(run.status, now);
      return wallSeconds > 0 ? Math.min(1, usefulSeconds / wallSeconds) : undefined;
    });
    this.capacityGauges(sources);
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Per run, the live accounting (ended attempts from the status, the running one up to now). */
  private capacityGauges(sources: MetricsSources): void {
    const prices = sources.prices ?? {};
    // The gauges below read the same accounting: computed once per run per scrape (a cached
    // run is replaced, not mutated, when it changes, so its identity keys the memo).
    const computed = new WeakMap<TrainingRun, { atMs: number; accounting: Accounting }>();
    const live = (run: TrainingRun, now: Date): Accounting => {
      const hit = computed.get(run);
      if (hit !== undefined && now.getTime() - hit.atMs < 1_000) return hit.accounting;
      const accounting = liveAccounting(run.status, prices, now);
      computed.set(run, { atMs: now.getTime(), accounting });
      return accounting;
    };
    new Gauge({
      name: `${PREFIX}run_gpu_seconds`,
      help: "GPU-seconds the run's attempts used, by capacity type.",
      labelNames: ["namespace", "run", "capacity_type"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = new Date();
        for (const run of sources.runs()) {
          const a = live(run, now);
          const labels = { namespace: run.metadata.namespace ?? "", run: run.metadata.name ?? "" };
          this.set({ ...labels, capacity_type: "spot" }, a.spotGpuSeconds);
          this.set({ ...labels, capacity_type: "on-demand" }, a.onDemandGpuSeconds);
        }
      },
    });
    this.perRunGauge(sources, "run_lost_gpu_seconds", "GPU-seconds the run lost: recomputed steps plus restart gaps.", (run, now) => live(run, now).lostGpuSeconds);
    this.perRunGauge(sources, "run_preemptions_per_spot_hour", "The run's preemptions per hour on spot.", (run, now) => live(run, now).preemptionsPerSpotHour);
    this.perRunGauge(sources, "run_estimated_cost", "The run's estimated cost so far, from the price table.", (run, now) => live(run, now).estimatedCost);
    this.perRunGauge(sources, "run_cost_saving", "All-on-demand cost minus the run's estimated cost.", (run, now) => live(run, now).saving);
    this.perRunGauge(sources, "run_on_demand", "1 while the run's attempts go to on-demand nodes (fallback), 0 on spot.", (run) =>
      run.spec?.scheduling?.spot ? (run.status?.capacity?.type === "on-demand" ? 1 : 0) : undefined,
    );
  }

  /** A gauge with one series per run (namespace, run), recomputed from the cache each scrape. */
  private perRunGauge(
    sources: MetricsSources,
    name: string,
    help: string,
    value: (run: TrainingRun, now: Date) => number | undefined,
  ): void {
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      labelNames: ["namespace", "run"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = new Date();
        for (const run of sources.runs()) {
          const v = value(run, now);
          if (v !== undefined) this.set({ namespace: run.metadata.namespace ?? "", run: run.metadata.name ?? "" }, v);
        }
      },
    });
  }
}
