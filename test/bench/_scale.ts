// The fleet at scale (test/bench/scale.ts runs it at size, test/bench-smoke/ small): the real
// control plane, KWOK playing N fake spot GPU nodes (pods go Running at once, node leases
// renewed), the real operator as a process with its real flags, and this process playing
// the trainers: it writes the progress annotation per the trainer protocol and, on a reclaim,
// ends each pod as graceful node shutdown and the trainer do (Failed, DisruptionTarget
// TerminationByKubelet, exit 143, a preempted summary as termination message), then deletes
// the Node as the cloud would.
//
// The operator talks to the apiserver as its own ServiceAccount, matched by a FlowSchema of
// its own, so the apiserver's APF counters give exactly the operator's requests.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION } from "@resumable/protocol";
import { builtDir } from "../cluster/binaries.js";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { seededRandom } from "./_goodput.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const FAKE = "kwok.x-k8s.io/node";
const SA = "bench-operator";

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

export interface Quantiles { p50: number; p99: number; max: number; n: number }

export type Writes = Record<"createPod" | "patchRunStatus" | "createEvent", Quantiles>;

export interface ScaleResult {
  apply: { firstPod: Quantiles; allWithinSeconds: number; reconcileHistogram: Quantiles; decideHistogram: Quantiles; operatorWrites: Writes; operatorRequestsPerSecond: number; rssMb: number; heapUsedMb: number; apiserverLatency: Writes; cpuSeconds: number; machineCpu: MachineCpu; seconds: number };
  wave: { nodes: number; affectedRuns: number; nextPod: Quantiles; missed: string[]; countedTwice: string[]; placedOnReclaimed: string[]; unaffectedPreempted: string[] };
  steady: { reconcileHistogram: Quantiles; decideHistogram: Quantiles; operatorWrites: Writes; seconds: number; statusWritesPerSecond: number; progressPatchesPerSecond: number; operatorRequestsPerSecond: number; maxWorkqueueDepth: number; cpuSecondsPerSecond: number; machineCpu: MachineCpu; rssMb: number; heapUsedMb: number };
}

/** Cores busy over a window, in all and by process (CPU s per s): who the 2 cores went to. */
export interface MachineCpu { busyCores: number; byProcess: Record<string, number> }

interface CpuSample { at: number; busyTicks: number; byProcess: Map<string, number> }

/**
 * Every process's CPU ticks, by what it is: the control plane's binaries by name, the operator
 * and this driver by pid, any other node process as "other node". Read from /proc.
 */
function cpuSample(operatorPid: number): CpuSample {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busyTicks = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - (cpu[4] ?? 0); // all but idle and iowait
  const byProcess = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: { comm: string; ticks: number };
    try { stat = procStat(entry); } catch { continue; } // gone meanwhile
    const { comm, ticks } = stat;
    const pid = Number(entry);
    const who = pid === operatorPid ? "operator" : pid === process.pid ? "driver (this benchmark)" : comm === "node" ? "other node" : comm;
    byProcess.set(who, (byProcess.get(who) ?? 0) + ticks);
  }
  return { at: Date.now(), busyTicks, byProcess };
}

/** CPU s per s between two samples: the seven busiest processes by name, the rest summed. */
function machineCpu(from: CpuSample, to: CpuSample): MachineCpu {
  const seconds = (to.at - from.at) / 1000;
  const rates = [...to.byProcess].map(([who, t]) => [who, (t - (from.byProcess.get(who) ?? 0)) / 100 / seconds] as const)
    .filter(([, r]) => r > 0).sort((a, b) => b[1] - a[1]);
  const byProcess: Record<string, number> = Object.fromEntries(rates.slice(0, 7));
  const rest = rates.slice(7).reduce((a, [, r]) => a + r, 0);
  if (rest > 0) byProcess["the rest"] = rest;
  return { busyCores: (to.busyTicks - from.busyTicks) / 100 / seconds, byProcess };
}

/** The operator's own view of its writes' round trips (resumable_api_write_duration_seconds). */
function operatorWrites(metrics: string, since?: string): Writes {
  const h = (write: string) => histogramQuantiles(metrics, "resumable_api_write_duration_seconds", [`write="${write}"`], since);
  return { createPod: h("createPod"), patchRunStatus: h("patchRunStatus"), createEvent: h("createEvent") };
}

export function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN, n: s.length };
}

/** The chart's default `nodeOptions` (charts/resumable/values.yaml): the operator's heap sizing as shipped. */
export function chartNodeOptions(): string {
  const values = readFileSync(join(repo, "charts/resumable/values.yaml"), "utf8");
  const m = /^nodeOptions: "([^"]*)"$/m.exec(values);
  if (!m) throw new Error("charts/resumable/values.yaml has no nodeOptions: \"...\" line for the benchmark to run the operator with");
  return m[1]!;
}

/** The KWOK binary, built by test/kwok/build.sh into the cache when missing (minutes, once). */
export function kwokBinary(): string {
  return join(builtDir("test/kwok/build.sh"), "kwok");
}

/**
 * KWOK's own default stages (what kwokctl gives a cluster), read from the pinned module in the
 * Go module cache rather than copied into this repo: nodes initialise and renew leases, pods
 * go Running, a deleted pod goes at once.
 */
function stagesFile(dir: string): string {
  const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", "sigs.k8s.io/kwok"], { cwd: join(repo, "test/kwok/module"), encoding: "utf8" })) as { Dir: string };
  const parts = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml", "pod/fast/pod-ready.yaml", "pod/fast/pod-delete.yaml"];
  const file = join(dir, "kwok-stages.yaml");
  writeFileSync(file, parts.map((p) => readFileSync(join(info.Dir, "kustomize/stage", p), "utf8")).join("\n---\n"));
  return file;
}

function fakeNode(name: string, zone: string) {
  const capacity = { cpu: "64", memory: "256Gi", pods: "110", "nvidia.com/gpu": "8" };
  return {
    apiVersion: "v1", kind: "Node",
    metadata: {
      name,
      annotations: { [FAKE]: "fake" },
      labels: {
        "cloud.google.com/gke-spot": "true", "cloud.google.com/gke-provisioning": "spot",
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": zone, type: "kwok",
      },
    },
    spec: { taints: [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" }] },
    status: { capacity, allocatable: capacity },
  };
}

/** A token kubeconfig for the operator's own ServiceAccount, and the FlowSchema that counts it. */
async function operatorIdentity(e: E2E, dir: string): Promise<string> {
  await e.kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "v1", kind: "List", items: [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: NAMESPACE } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: SA },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: SA, namespace: NAMESPACE }],
      },
      {
        apiVersion: "flowcontrol.apiserver.k8s.io/v1", kind: "FlowSchema", metadata: { name: SA },
        spec: {
          matchingPrecedence: 500, priorityLevelConfiguration: { name: "workload-high" },
          distinguisherMethod: { type: "ByUser" },
          rules: [{
            subjects: [{ kind: "ServiceAccount", serviceAccount: { name: SA, namespace: NAMESPACE } }],
            resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true }],
            nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          }],
        },
      },
    ],
  }));
  const token = (await e.kubectl(["create", "token", SA, "-n", NAMESPACE, "--duration=24h"])).trim();
  const kc = new KubeConfig();
  kc.loadFromFile(e.cluster.kubeconfig);
  const cluster = kc.getCurrentCluster()!;
  const file = join(dir, "operator.kubeconfig");
  writeFileSync(file, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "op",
    clusters: [{ name: "c", cluster: { server: cluster.server, "certificate-authority-data": cluster.caData ?? Buffer.from(readFileSync(cluster.caFile!)).toString("base64") } }],
    users: [{ name: "op", user: { token } }],
    contexts: [{ name: "op", context: { cluster: "c", user: "op" } }],
  }));
  return file;
}

/**
 * How long the apiserver took to answer the writes an operator pass waits for (every client's,
 * since it started): where a pass's time goes when it is not the operator's own.
 */
async function apiserverWriteLatency(e: E2E): Promise<{ createPod: Quantiles; patchRunStatus: Quantiles; createEvent: Quantiles }> {
  const text = await e.kubectl(["get", "--raw", "/metrics"]);
  const h = (labels: string[]) => histogramQuantiles(text, "apiserver_request_duration_seconds", labels);
  return {
    createPod: h(['verb="POST"', 'resource="pods"', 'subresource=""']),
    patchRunStatus: h(['verb="PATCH"', 'resource="trainingruns"', 'subresource="status"']),
    createEvent: h(['verb="POST"', 'resource="events"']),
  };
}

/** apiserver counters: requests dispatched for the operator's FlowSchema, TrainingRun status writes. */
async function apiserverCounters(e: E2E): Promise<{ operator: number; statusWrites: number }> {
  const text = await e.kubectl(["get", "--raw", "/metrics"]);
  let operator = 0;
  let statusWrites = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("apiserver_flowcontrol_dispatched_requests_total{") && line.includes(`flow_schema="${SA}"`)) operator += Number(line.split(" ").at(-1));
    if (line.startsWith("apiserver_request_total{") && line.includes('resource="trainingruns"') && line.includes('subresource="status"') && /verb="(PATCH|UPDATE|APPLY)"/.test(line)) {
      statusWrites += Number(line.split(" ").at(-1));
    }
  }
  return { operator, statusWrites };
}

function processUsage(pid: number): { rssMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: rssKb / 1024, cpuSeconds: procStat(pid).ticks / 100 };
}

/** A process's name and CPU ticks so far (utime + stime), from /proc/<pid>/stat; throws once it is gone. */
function procStat(pid: number | string): { comm: string; ticks: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The name sits in parentheses and may hold spaces: fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The operator's V8 heap in use, from its default metrics: how much of its RSS is live objects. */
function heapUsedMb(metrics: string): number {
  return gaugeMb(metrics, "resumable_nodejs_heap_size_used_bytes");
}

function gaugeMb(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1] ?? NaN) / 2 ** 20;
}

/**
 * Where the operator's memory is, in MB: RSS, the V8 heap reserved and in use, and memory
 * outside it (Buffers and ArrayBuffers). RSS growing while all three stay flat is memory the
 * allocator holds, not objects the operator keeps.
 */
function memoryLine(metrics: string, rssMb: number): string {
  const mb = (name: string) => gaugeMb(metrics, `resumable_nodejs_${name}`).toFixed(0);
  return `RSS ${rssMb.toFixed(0)}, heap total ${mb("heap_size_total_bytes")} used ${mb("heap_size_used_bytes")}, external ${mb("external_memory_bytes")}`;
}

async function operatorMetrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/**
 * p50/p99 from a Prometheus histogram's cumulative buckets (upper bound of the bucket reached);
 * with `since`, an earlier scrape of the same histogram, only what was observed after it.
 */
export function histogramQuantiles(text: string, name: string, labels: string[] = [], since?: string): Quantiles {
  const now = cumulativeBuckets(text, name, labels);
  const before = since === undefined ? new Map<number, number>() : cumulativeBuckets(since, name, labels);
  const sorted = [...now.entries()].map(([le, c]) => [le, c - (before.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  const q = (p: number) => sorted.find(([, c]) => c >= p * total)?.[0] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: q(1), n: total };
}

/** Count per upper bound, summed across label sets (e.g. result="ok"/"error"). */
function cumulativeBuckets(text: string, name: string, labels: string[]): Map<number, number> {
  const byLe = new Map<number, number>();
  for (const l of text.split("\n")) {
    if (!l.startsWith(`${name}_bucket{`) || !labels.every((x) => l.includes(x))) continue;
    const le = /le="([^"]+)"/.exec(l)![1]!;
    const bound = le === "+Inf" ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(l.split(" ").at(-1)));
  }
  return byLe;
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
    operator = spawn(process.execPath, [...nodeFlags, ...profile, join(repo, "operator/dist/cli.js"),
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
    const before = await apiserverCounters(e);
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
    const afterApply = await apiserverCounters(e);
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
    const steadyStart = await apiserverCounters(e);
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
    const steadyEnd = await apiserverCounters(e);
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

/** The trainer's progress report: a merge patch of the protocol annotation on its own pod. */
async function reportProgress(e: E2E, pod: string, step: number): Promise<void> {
  await e.core.patchNamespacedPod({
    name: pod, namespace: NAMESPACE,
    body: { metadata: { annotations: { [PROGRESS_ANNOTATION]: JSON.stringify({ step, totalSteps: 1_000_000, resumedFromStep: null, updatedAt: new Date().toISOString() }) } } },
  }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)).catch(() => undefined);
}

const SHUTDOWN_MESSAGE = "Pod was terminated in response to imminent node shutdown.";

/** What graceful node shutdown and a flushing trainer leave: Failed, DisruptionTarget, 143, a preempted summary. */
async function shutDownPod(e: E2E, name: string): Promise<void> {
  const now = new Date().toISOString();
  const summary = JSON.stringify({ reason: "preempted", step: 100, resumedFromStep: null, checkpoint: { step: 100 } });
  await e.core.patchNamespacedPodStatus({ name, namespace: NAMESPACE, body: {
    status: {
      phase: "Failed", reason: "Terminated", message: SHUTDOWN_MESSAGE,
      conditions: [
        { type: "DisruptionTarget", status: "True", reason: "TerminationByKubelet", message: SHUTDOWN_MESSAGE, lastTransitionTime: now },
        { type: "Ready", status: "False", lastTransitionTime: now },
      ],
      containerStatuses: [{ name: "trainer", ready: false, restartCount: 0, image: "resumable/trainer", imageID: "", state: { terminated: { exitCode: 143, reason: "Error", message: summary, startedAt: now, finishedAt: now } } }],
    },
  } }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch));
}

/** Adds the NoSchedule taint that stands in for the kubelet refusing pods while it shuts down. */
async function taintShuttingDown(e: E2E, name: string): Promise<void> {
  const node = await e.core.readNode({ name });
  const taints = [...(node.spec?.taints ?? []), { key: "bench.resumable.dev/shutting-down", value: "true", effect: "NoSchedule" }];
  await e.core.patchNode({ name, body: { spec: { taints } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
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

/** Runs `fn` over `items`, `width` at a time; results in the items' order. */
export async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}
