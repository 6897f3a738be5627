// The fleet at scale (test/bench/scale.ts runs it at size, test/bench-smoke/ small): the real
// control plane, KWOK playing N fake spot GPU nodes (pods go Running at once, node leases
// renewed), the real operator as a process with its real flags, and this process playing
// the trainers: it writes the progress annotation per the trainer protocol and, on a reclaim,
// ends each pod as graceful node shutdown and the trainer do (Failed, DisruptionTarget
// TerminationByKubelet, exit 143, a preempted summary as termination message), then deletes
// the Node as the cloud would.
//
// This file is the driver: the three phases (apply, steady progress, a reclaim wave) in
// order. What it plays is in _scale-fleet.ts, what it measures in _scale-measure.ts.
import { setTimeout as sleep } from "node:timers/promises";
import { pool } from "./_util.js";
import { applyRuns, reclaimWave, reportProgress, SA, startFleet, waitFor } from "./_scale-fleet.js";
import {
  apiserverCounters, apiserverWriteLatency, cpuSample, heapUsedMb, histogramQuantiles, machineCpu, memoryLine, operatorMetrics,
  operatorWrites, processUsage, quantiles, type MachineCpu, type Quantiles, type Writes,
} from "./_scale-measure.js";

export interface ScaleOptions {
  nodes: number;
  runs: number;
  /** Share of nodes reclaimed in the wave. */
  reclaimShare: number;
  /** Seconds of steady progress reporting. */
  steadySeconds: number;
  /** Each running pod reports every this many seconds (the operator writes progress-only changes at most every 15 s). */
  progressSeconds: number;
  /** Every pod reports at the start of each round, as the runs before 2026-12-02 did; else spread over the round. */
  progressBurst?: boolean;
  seed: number;
  log?: (l: string) => void;
}

export interface ScaleResult {
  apply: { firstPod: Quantiles; allWithinSeconds: number; reconcileHistogram: Quantiles; decideHistogram: Quantiles; operatorWrites: Writes; operatorRequestsPerSecond: number; rssMb: number; heapUsedMb: number; apiserverLatency: Writes; cpuSeconds: number; machineCpu: MachineCpu; seconds: number };
  wave: { nodes: number; affectedRuns: number; nextPod: Quantiles; missed: string[]; countedTwice: string[]; placedOnReclaimed: string[]; unaffectedPreempted: string[] };
  steady: { reconcileHistogram: Quantiles; decideHistogram: Quantiles; operatorWrites: Writes; seconds: number; statusWritesPerSecond: number; progressPatchesPerSecond: number; operatorRequestsPerSecond: number; maxWorkqueueDepth: number; cpuSecondsPerSecond: number; machineCpu: MachineCpu; rssMb: number; heapUsedMb: number };
}

interface PodSeen { run: string; name: string; node?: string; addedAt: number; runningAt?: number; phase?: string }

export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const fleet = await startFleet(opts.nodes, log);
  const { e, nodes, operator, port } = fleet;
  try {
    // The driver's view of pods: when each was first seen, when Running, on which node.
    const pods = new Map<string, PodSeen>();
    await fleet.watchPods((type, pod) => {
      const name = pod.metadata!.name!;
      const seen = pods.get(name) ?? { run: pod.metadata!.labels!["resumable.dev/run"]!, name, addedAt: Date.now() };
      seen.node = pod.spec?.nodeName ?? seen.node;
      seen.phase = type === "DELETED" ? "Deleted" : pod.status?.phase;
      if (seen.phase === "Running" && seen.runningAt === undefined) seen.runningAt = Date.now();
      pods.set(name, seen);
    });
    const runs = Array.from({ length: opts.runs }, (_, i) => `run-${String(i).padStart(4, "0")}`);

    // 1. Every run applied at once.
    const before = await apiserverCounters(e, SA);
    const cpuBefore = processUsage(operator.pid!).cpuSeconds;
    const machineBefore = cpuSample(operator.pid!);
    const appliedAt = Date.now();
    await applyRuns(e, runs);
    log(`applied ${runs.length} runs in ${((Date.now() - appliedAt) / 1000).toFixed(1)} s`);
    const firstPodOf = (run: string) => [...pods.values()].filter((p) => p.run === run).sort((a, b) => a.addedAt - b.addedAt)[0];
    await waitFor("every run's first pod Running", async () => runs.every((r) => firstPodOf(r)?.runningAt !== undefined), 20 * 60_000);
    const firstPod = quantiles(runs.map((r) => (firstPodOf(r)!.addedAt - appliedAt) / 1000));
    const applySeconds = (Date.now() - appliedAt) / 1000;
    const afterApply = await apiserverCounters(e, SA);
    const usage = processUsage(operator.pid!);
    const machineAfterApply = cpuSample(operator.pid!);
    const applyMetrics = await operatorMetrics(port);
    const apply = {
      firstPod,
      allWithinSeconds: firstPod.max,
      reconcileHistogram: histogramQuantiles(applyMetrics, "resumable_reconcile_duration_seconds"),
      decideHistogram: histogramQuantiles(applyMetrics, "resumable_reconcile_decide_duration_seconds"),
      operatorWrites: operatorWrites(applyMetrics),
      heapUsedMb: heapUsedMb(applyMetrics),
      apiserverLatency: await apiserverWriteLatency(e),
      operatorRequestsPerSecond: (afterApply.operator - before.operator) / applySeconds,
      rssMb: usage.rssMb,
      cpuSeconds: usage.cpuSeconds - cpuBefore,
      machineCpu: machineCpu(machineBefore, machineAfterApply),
      seconds: applySeconds,
    };
    log(`apply: ${JSON.stringify(apply)}`);

    // 2. Steady state: every running pod reports progress every progressSeconds.
    const steadyStart = await apiserverCounters(e, SA);
    const steadyStartMetrics = await operatorMetrics(port);
    const steadyCpu = processUsage(operator.pid!).cpuSeconds;
    const machineSteadyStart = cpuSample(operator.pid!);
    const startedAt = Date.now();
    let patches = 0;
    let maxDepth = 0;
    let round = 0;
    let lastMemoryLine = 0;
    while (Date.now() - startedAt < opts.steadySeconds * 1000) {
      round++;
      const roundStart = Date.now();
      const live = [...pods.values()].filter((p) => p.phase === "Running");
      // Trainers report on their own clocks, not in step: each pod reports at its own offset in
      // the round. All at once (SCALE_PROGRESS_BURST=1, runs C to K) makes a burst every round
      // that the operator's writes queue behind at the apiserver, which no fleet of trainers does.
      const spacing = opts.progressBurst ? 0 : (opts.progressSeconds * 1000) / Math.max(1, live.length);
      await pool(live.map((p, k) => ({ p, at: roundStart + k * spacing })), 16, async ({ p, at }) => {
        await sleep(Math.max(0, at - Date.now()));
        await reportProgress(e, p.name, round * 100);
        patches++;
      });
      const metrics = await operatorMetrics(port);
      const depth = /^resumable_workqueue_depth(?:\{[^}]*\})? (\S+)/m.exec(metrics);
      maxDepth = Math.max(maxDepth, Number(depth?.[1] ?? 0));
      if (Date.now() - lastMemoryLine >= 60_000) {
        lastMemoryLine = Date.now();
        log(`steady +${((Date.now() - startedAt) / 1000).toFixed(0)} s memory MB: ${memoryLine(metrics, processUsage(operator.pid!).rssMb)}`);
      }
      await sleep(Math.max(0, opts.progressSeconds * 1000 - (Date.now() - roundStart)));
    }
    const steadySeconds = (Date.now() - startedAt) / 1000;
    const steadyEnd = await apiserverCounters(e, SA);
    const steadyUsage = processUsage(operator.pid!);
    const machineSteadyEnd = cpuSample(operator.pid!);
    const steadyMetrics = await operatorMetrics(port);
    const steady = {
      reconcileHistogram: histogramQuantiles(steadyMetrics, "resumable_reconcile_duration_seconds", [], steadyStartMetrics),
      decideHistogram: histogramQuantiles(steadyMetrics, "resumable_reconcile_decide_duration_seconds", [], steadyStartMetrics),
      operatorWrites: operatorWrites(steadyMetrics, steadyStartMetrics),
      machineCpu: machineCpu(machineSteadyStart, machineSteadyEnd),
      seconds: steadySeconds,
      statusWritesPerSecond: (steadyEnd.statusWrites - steadyStart.statusWrites) / steadySeconds,
      progressPatchesPerSecond: patches / steadySeconds,
      operatorRequestsPerSecond: (steadyEnd.operator - steadyStart.operator) / steadySeconds,
      maxWorkqueueDepth: maxDepth,
      cpuSecondsPerSecond: (steadyUsage.cpuSeconds - steadyCpu) / steadySeconds,
      rssMb: steadyUsage.rssMb,
      heapUsedMb: heapUsedMb(steadyMetrics),
    };
    log(`steady: ${JSON.stringify(steady)}`);

    // 3. A reclaim wave: a seeded share of the nodes shut down gracefully at once.
    const { reclaimed, affected, waveAt } = await reclaimWave(e, nodes, opts.reclaimShare, opts.seed, log);
    const nextPodOf = (run: string) => [...pods.values()].find((p) => p.run === run && p.addedAt > waveAt && p.runningAt !== undefined);
    await waitFor("every affected run's next pod Running", async () => [...affected].every((r) => nextPodOf(r)), 10 * 60_000).catch((err: Error) => log(err.message));
    const nextPod = quantiles([...affected].flatMap((r) => { const p = nextPodOf(r); return p ? [(p.addedAt - waveAt) / 1000] : []; }));
    await sleep(3000); // let any double count show
    const statuses = await pool(runs, 16, async (r) => ({ r, s: (await e.getRun(r)).status }));
    const wave = {
      nodes: reclaimed.size,
      affectedRuns: affected.size,
      nextPod,
      missed: [...affected].filter((r) => !nextPodOf(r) || statuses.find((x) => x.r === r)?.s?.preemptions !== 1),
      countedTwice: statuses.filter((x) => (x.s?.preemptions ?? 0) > 1).map((x) => x.r),
      // Of those, the runs a pod of which was placed on a reclaimed node after the wave began.
      placedOnReclaimed: [...new Set([...pods.values()].filter((p) => p.addedAt > waveAt && reclaimed.has(p.node ?? "")).map((p) => p.run))],
      unaffectedPreempted: statuses.filter((x) => !affected.has(x.r) && (x.s?.preemptions ?? 0) > 0).map((x) => x.r),
    };
    log(`wave: ${JSON.stringify({ ...wave, missed: wave.missed.length, countedTwice: wave.countedTwice.length, placedOnReclaimed: wave.placedOnReclaimed.length })}`);
    return { apply, wave, steady };
  } finally {
    await fleet.stop();
  }
}
