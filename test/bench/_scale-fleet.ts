// The fleet the scale benchmark plays (_scale.ts drives it): KWOK's fake spot GPU nodes with
// KWOK's own stages, the operator's own identity (a ServiceAccount and a FlowSchema, so the
// apiserver's APF counters give exactly the operator's requests) and the Node.js flags the
// chart ships, and the trainers' side of the protocol: progress reports and what graceful
// node shutdown and a flushing trainer leave behind.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION } from "@resumable/protocol";
import { builtDir } from "../cluster/binaries.js";
import { NAMESPACE, type E2E } from "../e2e/harness.js";

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
