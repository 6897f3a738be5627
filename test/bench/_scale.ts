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
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { startE2E, NAMESPACE } from "../e2e/harness.js";
import { seededRandom } from "../support/seeded-random.js";
import { pool } from "./_util.js";
import {
  chartNodeOptions, FAKE, fakeNode, kwokBinary, operatorIdentity, REPO, reportProgress, SA, shutDownPod, stagesFile, taintShuttingDown,
} from "./_scale-fleet.js";
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
  const kwok = kwokBinary();
  const e = await startE2E({ withKubelet: false, startOperator: false });
  const dir = e.cluster.stateDir;
  let kwokProc: ChildProcess | undefined;
  let operator: ChildProcess | undefined;
  let stopWatch: (() => void) | undefined;
  try {
    const nodes = Array.from({ length: opts.nodes }, (_, i) => `kwok-spot-${i}`);
    await e.kubectl(["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: nodes.map((n, i) => fakeNode(n, `zone-${i % 3}`)) }));
    kwokProc = spawn(kwok, [
      "--kubeconfig", e.cluster.kubeconfig, "--manage-all-nodes=false", `--manage-nodes-with-annotation-selector=${FAKE}=fake`,
      "--cidr=10.64.0.0/12", "--node-lease-duration-seconds=20", "--node-ip=10.63.0.1", "--config", stagesFile(dir),
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const kwokLog = createWriteStream(join(dir, "logs", "kwok.log"));
    kwokProc.stdout!.pipe(kwokLog);
    kwokProc.stderr!.pipe(kwokLog);
    await waitFor("every fake node Ready", async () => {
      const list = JSON.parse(await e.kubectl(["get", "nodes", "-l", "type=kwok", "-o", "json"])) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === opts.nodes;
    }, 180_000);

    const kubeconfig = await operatorIdentity(e, dir);
    const opLog = createWriteStream(e.operatorLog, { flags: "a" });
    // SCALE_PROFILE_DIR=<dir>: the operator writes a V8 CPU profile there when it stops.
    const profile = process.env.SCALE_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.SCALE_PROFILE_DIR}`] : [];
    // The Node.js flags the chart ships (its nodeOptions value), so the benchmark measures the
    // operator as deployed; SCALE_OPERATOR_NODE_FLAGS overrides them ("" for Node's own sizing).
    const nodeFlags = (process.env.SCALE_OPERATOR_NODE_FLAGS ?? chartNodeOptions()).split(" ").filter(Boolean);
    log(`operator Node.js flags: ${nodeFlags.join(" ") || "(none)"}`);
    operator = spawn(process.execPath, [...nodeFlags, ...profile, join(REPO, "operator/dist/cli.js"),
      "--metrics-address=127.0.0.1", "--metrics-port=0", `--namespaces=${NAMESPACE}`, "--trainer-service-account=resumable-trainer", "--leader-elect=false"],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
    operator.stdout!.pipe(opLog);
    operator.stderr!.pipe(opLog);
    const port = await waitFor("the operator's metrics port", async () => {
      const m = existsSync(e.operatorLog) ? /"metricsPort":(\d+)/.exec(readFileSync(e.operatorLog, "utf8")) : null;
      return m ? Number(m[1]) : undefined;
    }, 120_000);
    await waitFor("the operator reconciling", async () => /"reconciling"/.test(readFileSync(e.operatorLog, "utf8")), 120_000);

    // The driver's view of pods: when each was first seen, when Running, on which node.
    const pods = new Map<string, PodSeen>();
    const kc = new KubeConfig();
    kc.loadFromFile(e.cluster.kubeconfig);
    const onEvent = (type: string, pod: V1Pod) => {
      const name = pod.metadata!.name!;
      const seen = pods.get(name) ?? { run: pod.metadata!.labels!["resumable.dev/run"]!, name, addedAt: Date.now() };
      seen.node = pod.spec?.nodeName ?? seen.node;
      seen.phase = type === "DELETED" ? "Deleted" : pod.status?.phase;
      if (seen.phase === "Running" && seen.runningAt === undefined) seen.runningAt = Date.now();
      pods.set(name, seen);
    };
    // A watch that ends (timeout, error) is started again: a stale map would miss pods.
    let watching = true;
    let current: { abort(): void } | undefined;
    const watch = async (): Promise<void> => {
      if (!watching) return;
      current = await new Watch(kc).watch(`/api/v1/namespaces/${NAMESPACE}/pods`, { labelSelector: "resumable.dev/run" }, onEvent,
        () => { if (watching) setTimeout(() => void watch(), 200); });
    };
    await watch();
    stopWatch = () => { watching = false; current?.abort(); };
    const runs = Array.from({ length: opts.runs }, (_, i) => `run-${String(i).padStart(4, "0")}`);

    // 1. Every run applied at once.
    const before = await apiserverCounters(e, SA);
    const cpuBefore = processUsage(operator.pid!).cpuSeconds;
    const machineBefore = cpuSample(operator.pid!);
    const appliedAt = Date.now();
    await pool(runs, 16, (name) => e.custom.createNamespacedCustomObject({
      group: "resumable.dev", version: "v1alpha1", namespace: NAMESPACE, plural: "trainingruns",
      body: {
        apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", metadata: { name, namespace: NAMESPACE },
        spec: {
          training: { model: "mlp", dataset: "synthetic", totalSteps: 1_000_000, backend: "cpu" },
          // A bucket prefix of its own per run: one owner per checkpoint location (a shared claim
          // would leave all but one run StorageInUse), and no claim to bind, since nothing runs a
          // trainer here (no kubelet) and nothing reads the bucket.
          checkpoint: { storage: { s3: { bucket: "scale-checkpoints", prefix: `runs/${name}` } } },
          scheduling: { spot: true },
          resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } },
        },
      },
    }));
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
    const rand = seededRandom(opts.seed);
    const shuffled = [...nodes].sort(() => rand() - 0.5);
    const reclaimed = new Set(shuffled.slice(0, Math.round(opts.nodes * opts.reclaimShare)));
    // From a fresh list, not the watch's map: the wave must hit exactly what runs there now.
    const listed = (await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "resumable.dev/run" })).items;
    const victims = listed.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp && reclaimed.has(p.spec?.nodeName ?? ""))
      .map((p) => ({ name: p.metadata!.name!, run: p.metadata!.labels!["resumable.dev/run"]! }));
    const affected = new Set(victims.map((v) => v.run));
    const waveAt = Date.now();
    // Graceful node shutdown: from its first moment the kubelet refuses new pods (admission
    // fails with NodeShutdown) and reports the node NotReady, so nothing new lands there. KWOK
    // keeps its nodes Ready: a NoSchedule taint of the benchmark's own (no reclaim-notice signal)
    // stands in for that. Without it a run's replacement could be placed on a node about to be
    // deleted and be preempted a second time, rightly counted twice by the operator.
    // Through the API client, not a kubectl process per object: 200 kubectl starts took the
    // driver tens of seconds on 2 cores, and that was counted as the operator's recovery time.
    await pool([...reclaimed], 16, (n) => taintShuttingDown(e, n));
    await pool(victims, 32, (p) => shutDownPod(e, p.name));
    await pool([...reclaimed], 16, (n) => e.kubectl(["delete", "node", n, "--wait=false"]));
    log(`wave: ${reclaimed.size} nodes, ${victims.length} pods of ${affected.size} runs`);
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
    stopWatch?.();
    // SIGTERM first: the operator exits cleanly (and writes its CPU profile if asked to).
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once("exit", r));
      operator.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      operator.kill("SIGKILL");
    }
    kwokProc?.kill("SIGTERM");
    await e.stop();
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

