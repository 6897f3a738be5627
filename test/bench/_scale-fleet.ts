// The fleet the scale benchmark plays (_scale.ts drives it): KWOK's fake spot GPU nodes with
// KWOK's own stages, the operator's own identity (a ServiceAccount and a FlowSchema, so the
// apiserver's APF counters give exactly the operator's requests) and the Node.js flags the
// chart ships, and the trainers' side of the protocol: progress reports and what graceful
// node shutdown and a flushing trainer leave behind.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION } from "@resumable/protocol";
import { builtDir } from "../cluster/binaries.js";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { seededRandom } from "../support/seeded-random.js";
import { pool } from "./_util.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const FAKE = "kwok.x-k8s.io/node";
/** The operator's ServiceAccount and the FlowSchema that counts its requests. */
export const SA = "bench-operator";

/** The chart's default `nodeOptions` (charts/resumable/values.yaml): the operator's heap sizing as shipped. */
export function chartNodeOptions(): string {
  const values = readFileSync(join(REPO, "charts/resumable/values.yaml"), "utf8");
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
export function stagesFile(dir: string): string {
  const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", "sigs.k8s.io/kwok"], { cwd: join(REPO, "test/kwok/module"), encoding: "utf8" })) as { Dir: string };
  const parts = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml", "pod/fast/pod-ready.yaml", "pod/fast/pod-delete.yaml"];
  const file = join(dir, "kwok-stages.yaml");
  writeFileSync(file, parts.map((p) => readFileSync(join(info.Dir, "kustomize/stage", p), "utf8")).join("\n---\n"));
  return file;
}

export function fakeNode(name: string, zone: string) {
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
export async function operatorIdentity(e: E2E, dir: string): Promise<string> {
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

/** The trainer's progress report: a merge patch of the protocol annotation on its own pod. */
export async function reportProgress(e: E2E, pod: string, step: number): Promise<void> {
  await e.core.patchNamespacedPod({
    name: pod, namespace: NAMESPACE,
    body: { metadata: { annotations: { [PROGRESS_ANNOTATION]: JSON.stringify({ step, totalSteps: 1_000_000, resumedFromStep: null, updatedAt: new Date().toISOString() }) } } },
  }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)).catch(() => undefined);
}

const SHUTDOWN_MESSAGE = "Pod was terminated in response to imminent node shutdown.";

/** What graceful node shutdown and a flushing trainer leave: Failed, DisruptionTarget, 143, a preempted summary. */
export async function shutDownPod(e: E2E, name: string): Promise<void> {
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
export async function taintShuttingDown(e: E2E, name: string): Promise<void> {
  const node = await e.core.readNode({ name });
  const taints = [...(node.spec?.taints ?? []), { key: "bench.resumable.dev/shutting-down", value: "true", effect: "NoSchedule" }];
  await e.core.patchNode({ name, body: { spec: { taints } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
}

/** The fleet running: the cluster, KWOK managing `nodes` fake nodes, the operator as deployed, and how to stop them all. */
export interface Fleet {
  e: E2E;
  nodes: string[];
  operator: ChildProcess;
  /** The operator's metrics port. */
  port: number;
  /**
   * The driver's view of the runs' pods, kept by a watch (restarted when it ends: a stale map
   * would miss pods); `onPod` sees every event before the map is updated.
   */
  watchPods(onPod: (type: string, pod: V1Pod) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the cluster (no kubelet), `count` KWOK nodes in three zones and the operator with its real flags. */
export async function startFleet(count: number, log: (l: string) => void): Promise<Fleet> {
  const kwok = kwokBinary();
  const e = await startE2E({ withKubelet: false, startOperator: false });
  const dir = e.cluster.stateDir;
  let kwokProc: ChildProcess | undefined;
  let operator: ChildProcess | undefined;
  const watches: { abort(): void }[] = [];
  let watching = true;
  const stop = async () => {
    watching = false;
    for (const w of watches) w.abort();
    // SIGTERM first: the operator exits cleanly (and writes its CPU profile if asked to).
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once("exit", r));
      operator.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      operator.kill("SIGKILL");
    }
    kwokProc?.kill("SIGTERM");
    await e.stop();
  };
  try {
    const nodes = Array.from({ length: count }, (_, i) => `kwok-spot-${i}`);
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
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === count;
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

    const kc = new KubeConfig();
    kc.loadFromFile(e.cluster.kubeconfig);
    const watchPods = async (onPod: (type: string, pod: V1Pod) => void): Promise<void> => {
      const again = async (): Promise<void> => {
        if (!watching) return;
        watches.push(await new Watch(kc).watch(`/api/v1/namespaces/${NAMESPACE}/pods`, { labelSelector: "resumable.dev/run" }, onPod,
          () => { if (watching) setTimeout(() => void again(), 200); }));
      };
      await again();
    };
    return { e, nodes, operator, port, watchPods, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

/**
 * A reclaim wave: a seeded share of the nodes shut down gracefully at once. Returns the nodes,
 * the pods hit (each with its run) and the runs they belong to, and when it began.
 */
export async function reclaimWave(e: E2E, nodes: string[], share: number, seed: number, log: (l: string) => void) {
  // From a fresh list, not the watch's map: the wave must hit exactly what runs there now.
  const listed = (await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "resumable.dev/run" })).items;
  const running = listed.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
  const occupied = new Set(running.map((p) => p.spec?.nodeName ?? ""));
  // The seeded share, drawn from the nodes that host a run first: the scheduler's placement is
  // its own (ties broken at random), and a wave of empty nodes (it happened: 4 of 20 nodes with
  // no pod, seed 5) measures nothing. The empty nodes that fill the share stay in it.
  const rand = seededRandom(seed);
  const shuffled = [...nodes].map((n) => ({ n, key: rand() })).sort((a, b) => a.key - b.key).map(({ n }) => n);
  const ordered = [...shuffled.filter((n) => occupied.has(n)), ...shuffled.filter((n) => !occupied.has(n))];
  const reclaimed = new Set(ordered.slice(0, Math.round(nodes.length * share)));
  const victims = running.filter((p) => reclaimed.has(p.spec?.nodeName ?? ""))
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
  return { reclaimed, victims, affected, waveAt };
}

/** Creates the runs, 16 at a time: trainers that never run, one GPU a pod, spot; `spec` adds to (or overrides) that. */
export async function applyRuns(e: E2E, runs: string[], spec: Record<string, unknown> = {}): Promise<void> {
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
        ...spec,
      },
    },
  }));
}
