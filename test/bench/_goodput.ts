// The goodput comparison (test/bench/goodput.ts runs it at size, test/bench-smoke/ small):
// one workload trained three ways on one local cluster, at the same time, under one seeded
// preemption schedule, each system on a node pool of its own so a reclaim hits one system:
//   resumable  a TrainingRun (SIGTERM flush + periodic checkpoints every N steps);
//   job-ckpt   a batch/v1 Job (podFailurePolicy Ignore on DisruptionTarget) running the same
//              trainer with RESUMABLE_SIGTERM=die and checkpoints every N steps on a PVC;
//   job-none   the same Job without any checkpoint: every preemption restarts from step 0.
//   job-ckpt-sparse  (only when asked, for the sweep over N) the job-ckpt Job checkpointing
//              every `sparseEverySteps` steps instead: a second N in the same cluster and schedule.
// Everything counted comes from the trainers' own log lines (one per step at trace level,
// ms timestamps) under the process kubelet's state dir; the operator's own
// resumable_goodput_ratio is read from its /metrics only to be printed beside it.
import { readdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { trainingRun } from "../e2e/runs.js";
import { readTrainerRecords } from "../e2e/trainer-records.js";
import { twinWeightsSha256 } from "../e2e/twin.js";

export const SYSTEMS = ["resumable", "job-ckpt", "job-none"] as const;
export type System = (typeof SYSTEMS)[number] | "job-ckpt-sparse";
// No name may start with another's name and a dash: attemptsOf finds pods by that prefix.
const OBJECT: Record<System, string> = {
  resumable: "gp-resumable", "job-ckpt": "gp-job-ckpt", "job-none": "gp-job-none", "job-ckpt-sparse": "gp-sparse-ckpt",
};
const POOL_LABEL = "bench.resumable.dev/pool";
const GRACE_SECONDS = 25;

export interface GoodputOptions {
  /** Mean seconds between disruptions (exponential inter-arrival). */
  meanIntervalSeconds: number;
  /** Periodic checkpoint every N steps (resumable and job-ckpt alike). */
  everySteps: number;
  /** With job-ckpt-sparse among the systems: its checkpoint interval in steps. */
  sparseEverySteps?: number;
  seed: number;
  training: Record<string, unknown>;
  /** Spot nodes per system; a reclaim uses one up (the Node is deleted), then evictions only. */
  nodesPerSystem: number;
  /** Share of disruptions that are graceful node shutdowns (the rest are evictions). */
  reclaimShare: number;
  /** job-none is given up after this many seconds (it may never finish under short T). */
  maxSeconds: number;
  /** Stop the schedule after this many disruptions (a smoke needs a finite one); default: none. */
  maxDisruptions?: number;
  systems?: readonly System[];
  log?: (line: string) => void;
}

export interface Disruption { at: number; kind: "reclaim" | "evict"; pod: string; node: string }

export interface Attempt { pod: string; firstLineAt: number; firstStepAt?: number; resumedFrom: number; reached: number; summary?: Record<string, unknown> }

export interface SystemResult {
  system: System;
  /** Its checkpoint interval in steps; 0 for the Job without checkpoints. */
  everySteps: number;
  completed: boolean;
  wallSeconds: number;
  stepsComputed: number;
  usefulSteps: number;
  lostSteps: number;
  goodput: number;
  preemptions: number;
  /** Seconds from each disruption to the next attempt's first training step. */
  recoverySeconds: number[];
  weightsSha256?: string;
  attempts: Attempt[];
  disruptions: Disruption[];
}

export interface GoodputResult {
  systems: SystemResult[];
  twinSha256: string;
  /** What the operator's resumable_goodput_ratio said for the TrainingRun, last read. */
  operatorGoodput?: number;
  schedule: { at: number; kind: "reclaim" | "evict" }[];
}

/** mulberry32: a small seeded PRNG, so a schedule reproduces from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Disruption times (s after start) with exponential gaps of mean `mean`, up to `horizon`. */
export function preemptionSchedule(seed: number, mean: number, horizon: number, reclaimShare: number) {
  const rand = seededRandom(seed);
  const out: { at: number; kind: "reclaim" | "evict" }[] = [];
  for (let t = -mean * Math.log(1 - rand()); t < horizon; t += -mean * Math.log(1 - rand())) {
    out.push({ at: t, kind: rand() < reclaimShare ? "reclaim" : "evict" });
  }
  return out;
}

export function nodesFor(systems: readonly System[], perSystem: number): object[] {
  return systems.flatMap((system) =>
    Array.from({ length: perSystem }, (_, i) => ({
      name: `${system}-${i}`,
      labels: {
        "cloud.google.com/gke-spot": "true",
        "cloud.google.com/gke-provisioning": "spot",
        [POOL_LABEL]: system,
      },
      taints: [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" }],
      capacity: { cpu: "4", memory: "15Gi", pods: "110", "nvidia.com/gpu": "1" },
      shutdownGracePeriodSeconds: GRACE_SECONDS,
    })),
  );
}

const trainerEnv = [{ name: "LOG_LEVEL", value: "trace" }, { name: "RESUMABLE_METRICS_PORT", value: "0" }];

function jobFor(system: Exclude<System, "resumable">, training: Record<string, unknown>) {
  const name = OBJECT[system];
  const ckpt = system !== "job-none";
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      // What a user on spot picks today: preemptions do not count against backoffLimit.
      backoffLimit: 2,
      podReplacementPolicy: "Failed",
      podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] }] },
      template: {
        metadata: { labels: { "bench.resumable.dev/system": system } },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: GRACE_SECONDS,
          nodeSelector: { [POOL_LABEL]: system },
          tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" }],
          containers: [{
            name: "trainer",
            image: "resumable/trainer:dev",
            env: [
              { name: "RESUMABLE_CHECKPOINT_DIR", value: "/checkpoints" },
              { name: "RESUMABLE_CONFIG", value: JSON.stringify(training) },
              { name: "RESUMABLE_SIGTERM", value: "die" },
              ...trainerEnv,
            ],
            resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } },
            volumeMounts: [{ name: "checkpoints", mountPath: "/checkpoints" }],
          }],
          volumes: [ckpt ? { name: "checkpoints", persistentVolumeClaim: { claimName: `${name}-checkpoints` } } : { name: "checkpoints", emptyDir: {} }],
        },
      },
    },
  };
}

function pvcFor(name: string) {
  return {
    apiVersion: "v1", kind: "PersistentVolumeClaim",
    metadata: { name: `${name}-checkpoints`, namespace: NAMESPACE },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
}

function checkpointEvery(system: System, opts: GoodputOptions): number {
  if (system === "job-none") return 0;
  const every = system === "job-ckpt-sparse" ? opts.sparseEverySteps : opts.everySteps;
  if (every === undefined) throw new Error(`goodput: ${system} needs sparseEverySteps`);
  return every;
}

function trainingConfig(system: System, opts: GoodputOptions): Record<string, unknown> {
  const everySteps = checkpointEvery(system, opts);
  const checkpoint = everySteps === 0 ? { everySteps: 0, everySeconds: 0, keep: 1 } : { everySteps, everySeconds: 0, keep: 3 };
  return { ...opts.training, checkpoint };
}

export async function runGoodput(opts: GoodputOptions): Promise<GoodputResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const systems = opts.systems ?? SYSTEMS;
  const schedule = preemptionSchedule(opts.seed, opts.meanIntervalSeconds, opts.maxSeconds, opts.reclaimShare).slice(0, opts.maxDisruptions);
  const nodesFile = join((await import("node:os")).tmpdir(), `goodput-nodes-${process.pid}.json`);
  writeFileSync(nodesFile, JSON.stringify(nodesFor(systems, opts.nodesPerSystem)));
  const e = await startE2E({ nodesFile });
  try {
    // The uninterrupted twin trains beside the three, under the same load (only when there is
    // a resumable run to compare with it).
    const twin = systems.includes("resumable") ? twinWeightsSha256(trainingConfig("resumable", opts)) : Promise.resolve("");
    twin.catch(() => undefined);
    const started = Date.now();
    for (const system of systems) {
      const training = trainingConfig(system, opts);
      if (system === "resumable") {
        await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(OBJECT.resumable, {
          training,
          env: [...trainerEnv, { name: "RESUMABLE_PROGRESS_SECONDS", value: "2" }],
          scheduling: { spot: true, nodeSelector: { [POOL_LABEL]: system } },
          resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } },
          preemption: { gracePeriodSeconds: GRACE_SECONDS },
        } as never)));
      } else {
        if (system !== "job-none") await e.kubectl(["apply", "-f", "-"], JSON.stringify(pvcFor(OBJECT[system])));
        await e.kubectl(["apply", "-f", "-"], JSON.stringify(jobFor(system, training)));
      }
    }
    const done = new Map<System, number>();
    const disruptions = new Map<System, Disruption[]>(systems.map((s) => [s, []]));
    let operatorGoodput: number | undefined;
    let next = 0;
    const operatorPort = metricsPort(e.operatorLog);
    let lastMetrics = 0;
    while (done.size < systems.length) {
      const elapsed = (Date.now() - started) / 1000;
      for (const s of systems) {
        if (!done.has(s) && (await finished(e, s))) {
          done.set(s, Date.now());
          log(`${s}: finished after ${elapsed.toFixed(0)} s`);
        }
      }
      if (elapsed > opts.maxSeconds) {
        for (const s of systems) if (!done.has(s)) { done.set(s, Date.now()); log(`${s}: given up after ${opts.maxSeconds} s`); }
        break;
      }
      if (Date.now() - lastMetrics > 3000 && !done.has("resumable")) {
        lastMetrics = Date.now();
        operatorGoodput = (await operatorRatio(await operatorPort, OBJECT.resumable)) ?? operatorGoodput;
      }
      while (next < schedule.length && schedule[next]!.at <= elapsed) {
        const ev = schedule[next++]!;
        for (const s of systems) {
          if (done.has(s)) continue;
          const d = await disrupt(e, s, ev.kind, log).catch((err: Error) => { log(`${s}: ${ev.kind} failed: ${err.message}`); return undefined; });
          if (d) disruptions.get(s)!.push(d);
        }
      }
      await sleep(500);
    }
    const twinSha256 = await twin;
    const results = systems.map((s) => summarise(s, e, started, done.get(s)!, disruptions.get(s)!, opts));
    return { systems: results, twinSha256, ...(operatorGoodput !== undefined && { operatorGoodput }), schedule };
  } finally {
    await e.stop();
  }
}

async function finished(e: E2E, system: System): Promise<boolean> {
  if (system === "resumable") return (await e.getRun(OBJECT.resumable)).status?.phase === "Succeeded";
  const job = JSON.parse(await e.kubectl(["get", "job", OBJECT[system], "-n", NAMESPACE, "-o", "json"])) as { status?: { conditions?: { type: string; status: string }[] } };
  return (job.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

/** Pods already hit: a pod shutting down stays Running for a moment and must not be hit twice. */
const disrupted = new Set<string>();

async function runningPod(e: E2E, system: System): Promise<V1Pod | undefined> {
  const selector = system === "resumable" ? `resumable.dev/run=${OBJECT.resumable}` : `batch.kubernetes.io/job-name=${OBJECT[system]}`;
  const pods = (await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: selector })).items;
  return pods.find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp && p.spec?.nodeName && !disrupted.has(p.metadata!.uid!));
}

/** Applies one disruption to the system's running pod; a pod not running yet escapes it, as on a real pool. */
async function disrupt(e: E2E, system: System, kind: "reclaim" | "evict", log: (l: string) => void): Promise<Disruption | undefined> {
  const pod = await runningPod(e, system);
  if (!pod) return undefined;
  const name = pod.metadata!.name!;
  const node = pod.spec!.nodeName!;
  let how = kind;
  if (kind === "reclaim") {
    // Keep one node of the pool alive for the next pod: past that, a reclaim becomes an eviction.
    const left = (await e.core.listNode({ labelSelector: `${POOL_LABEL}=${system}` })).items
      .filter((n) => !n.metadata?.annotations?.["resumable.dev/fault"]);
    if (left.length < 2) how = "evict";
  }
  disrupted.add(pod.metadata!.uid!);
  const at = Date.now();
  if (how === "reclaim") {
    await e.kubectl(["annotate", "node", node, "resumable.dev/fault=spot-reclaim"]);
  } else {
    await e.core.createNamespacedPodEviction({
      name, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: NAMESPACE } },
    });
  }
  log(`${system}: ${how} ${name} on ${node}`);
  return { at, kind: how, pod: name, node };
}

function summarise(system: System, e: E2E, started: number, ended: number, disruptions: Disruption[], opts: GoodputOptions): SystemResult {
  const attempts = attemptsOf(e.cluster.stateDir, OBJECT[system]);
  const last = attempts.at(-1);
  const completed = last?.summary?.reason === "completed";
  const total = Number(opts.training.totalSteps);
  const stepsComputed = attempts.reduce((n, a) => n + Math.max(0, a.reached - a.resumedFrom), 0);
  // A pod killed before its first step computed nothing and never said where it resumed from:
  // lost steps run from one computing attempt to the next.
  const computing = attempts.filter((a) => a.firstStepAt !== undefined || a.summary !== undefined);
  // Useful: what the final state holds (totalSteps when completed; given up: what the last computing pod reached).
  const usefulSteps = completed ? total : (computing.at(-1)?.reached ?? 0);
  let lostSteps = 0;
  for (let i = 1; i < computing.length; i++) lostSteps += Math.max(0, computing[i - 1]!.reached - computing[i]!.resumedFrom);
  const recoverySeconds = disruptions.flatMap((d) => {
    const nextStep = attempts.find((a) => a.firstStepAt !== undefined && a.firstStepAt > d.at && a.pod !== d.pod);
    return nextStep ? [(nextStep.firstStepAt! - d.at) / 1000] : [];
  });
  const endAt = completed ? (last!.lastLineAt ?? ended) : ended;
  return {
    system, everySteps: checkpointEvery(system, opts), completed,
    wallSeconds: (endAt - started) / 1000,
    stepsComputed, usefulSteps, lostSteps,
    goodput: stepsComputed === 0 ? 0 : usefulSteps / stepsComputed,
    preemptions: disruptions.length,
    recoverySeconds,
    ...(typeof last?.summary?.weightsSha256 === "string" && { weightsSha256: last.summary.weightsSha256 }),
    attempts,
    disruptions,
  };
}

interface AttemptLines extends Attempt { lastLineAt?: number }

/** Every pod of `prefix` the kubelet ran, oldest first, from the trainers' own log lines. */
export function attemptsOf(stateDir: string, prefix: string): AttemptLines[] {
  const root = join(stateDir, "kubelet", "logs");
  if (!existsSync(root)) return [];
  const attempts: AttemptLines[] = [];
  for (const dir of readdirSync(root)) {
    const m = /^([^_]+)_(.+)_([0-9a-f-]+)$/.exec(dir);
    if (!m || m[1] !== NAMESPACE || !m[2]!.startsWith(`${prefix}-`)) continue;
    const containerDir = join(root, dir, "trainer");
    if (!existsSync(containerDir)) continue;
    const { lines, resumedFromStep, reachedStep, summary } = readTrainerRecords(containerDir);
    const timed = lines.filter((l) => typeof l.time === "number");
    if (timed.length === 0) continue;
    const firstStep = lines.find((l) => l.msg === "step" && typeof l.step === "number");
    attempts.push({
      pod: m[2]!,
      firstLineAt: timed[0]!.time as number,
      lastLineAt: timed.at(-1)!.time as number,
      ...(firstStep && { firstStepAt: firstStep.time as number }),
      resumedFrom: resumedFromStep,
      reached: reachedStep,
      ...(summary && { summary }),
    });
  }
  return attempts.sort((a, b) => a.firstLineAt - b.firstLineAt);
}

async function metricsPort(operatorLog: string): Promise<number | undefined> {
  for (let i = 0; i < 120; i++) {
    const text = existsSync(operatorLog) ? readFileSync(operatorLog, "utf8") : "";
    const m = /"metricsPort":(\d+)/.exec(text);
    if (m) return Number(m[1]);
    await sleep(500);
  }
  return undefined;
}

async function operatorRatio(port: number | undefined, run: string): Promise<number | undefined> {
  if (port === undefined) return undefined;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("resumable_goodput_ratio{") && l.includes(`"${run}"`));
    return line ? Number(line.split(" ").at(-1)) : undefined;
  } catch {
    return undefined;
  }
}
