// The shipped images on a real node: the real kubelet with containerd and runc
// (test/realnode/up.sh) beside the process kubelet, which here plays only the
// untainted `ondemand-a` (and provisions the checkpoint volumes), so every spot
// pod lands on `real-spot-a`. The chart installs the operator IMAGE with its own
// defaults, RBAC and securityContext; TrainingRuns use the trainer IMAGE. What the
// process kubelet cannot show is asserted here: a real SIGTERM by the runtime, a
// kernel OOM kill, the promised securityContext enforced, kubectl logs and exec.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { parse } from "yaml";
import { DEFAULT_NODES_FILE, startCluster, type Cluster } from "../cluster/cluster.js";
import { eventually, kubectl } from "../support/cluster.js";
import { helmInstallWith, SCENARIO_VALUES } from "../chart/install.js";
import { NAMESPACE as CHART_NAMESPACE } from "../chart/render.js";
import { NAMESPACE } from "../e2e/harness.js";
import { assertBitIdentical, assertResumeRecorded, isPhase, pastStep } from "../e2e/expect.js";
import { trainingRun } from "../e2e/runs.js";
import { hostCannot } from "./host.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "../..");
const REAL_NODE = "real-spot-a";
const TRAINER_IMAGE = "resumable/trainer:dev";
const run = promisify(execFile);

const cannot = hostCannot();
if (cannot) console.log(`# real node scenarios skipped: this host cannot run a real kubelet: ${cannot}`);

interface World {
  cluster: Cluster;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  kubectl(args: string[], input?: string): Promise<string>;
}

describe("the shipped images on a real node", { skip: cannot, timeout: 40 * 60_000 }, () => {
  const w = {} as World;

  before(async () => {
    // Whatever the caches lack is built by the project's own scripts (warm: seconds).
    await sh("bash", [join(repo, "test/images/build.sh")]);
    const stateDir = mkdtempSync(join(tmpdir(), "resumable-realnode-"));
    const nodesFile = join(stateDir, "nodes.json");
    const nodes = JSON.parse(readFileSync(DEFAULT_NODES_FILE, "utf8")) as { name: string }[];
    writeFileSync(nodesFile, JSON.stringify(nodes.filter((n) => n.name === "ondemand-a")));
    w.cluster = await startCluster({ stateDir, nodesFile });
    const kc = new KubeConfig();
    kc.loadFromFile(w.cluster.kubeconfig);
    w.core = kc.makeApiClient(CoreV1Api);
    w.custom = kc.makeApiClient(CustomObjectsApi);
    w.kubectl = (args, input) => kubectl(w.cluster.kubeconfig, args, input);
    await sh("bash", [join(here, "up.sh"), stateDir]);
    // A user's install: the chart's defaults, its image at the tag built here, placed
    // on the real node by the chart's own scheduling values; progress written each second
    // for scenarios that act at a step.
    await helmInstallWith(w.cluster.kubeconfig, {
      ...SCENARIO_VALUES,
      image: { tag: "dev" },
      trainer: { namespaces: [NAMESPACE] },
      nodeSelector: { "resumable.dev/real-node": "true" },
      tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Exists", effect: "NoSchedule" }],
    });
  }, { timeout: 30 * 60_000 });

  after(async () => {
    if (!w.cluster) return;
    await sh("bash", [join(here, "down.sh"), w.cluster.stateDir]).catch((err: unknown) => console.log(`# down.sh: ${String(err)}`));
    await w.cluster.stop();
  });

  test("the chart's operator image runs on the real node with only the chart's RBAC and securityContext, Ready, its metrics reached by port-forward", async () => {
    const pod = await operatorPod(w);
    assert.equal(pod.spec?.nodeName, REAL_NODE);
    const status = pod.status?.containerStatuses?.[0];
    assert.match(status?.containerID ?? "", /^containerd:\/\//, "run by containerd, not as a host process");
    assert.equal(status?.ready, true);
    const values = parse(readFileSync(join(repo, "charts/resumable/values.yaml"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(plain(pod.spec?.securityContext), values.podSecurityContext);
    assert.deepEqual(plain(pod.spec?.containers[0]?.securityContext), values.securityContext);
    assert.equal(pod.spec?.serviceAccountName, "resumable", "the chart's own ServiceAccount");
    assert.equal((await w.kubectl(["exec", "-n", CHART_NAMESPACE, pod.metadata!.name!, "--", "id", "-u"])).trim(), "1000");
    // The default bind address (every address) serves localhost, which port-forward dials.
    const healthz = await portForwardGet(w.cluster.kubeconfig, pod.metadata!.name!, 8080, "/healthz");
    assert.equal(healthz, 200);
  });

  test("a memory limit far below what the model needs is OOMKilled by the kernel and counted as a failure, not a preemption", async () => {
    const name = "real-oom";
    await w.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, {
      image: TRAINER_IMAGE,
      resources: { limits: { memory: "40Mi" } },
      failurePolicy: { maxRetries: 0, backoff: { initialSeconds: 1, maxSeconds: 1 } },
    })));
    const ended = await waitRun(w, name, "Failed", isPhase("Failed"), 5 * 60_000);
    const first = ended.status?.attempts?.[0];
    assert.equal(first?.node, REAL_NODE);
    assert.equal(first?.endReason, "Failed");
    assert.equal(first?.endDetail, "OOMKilled", JSON.stringify(ended.status?.attempts));
    assert.equal(first?.exitCode, 137);
    assert.equal(ended.status?.failures, 1);
    assert.equal(ended.status?.preemptions ?? 0, 0);
    const failed = ended.status?.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.status, "True");
    assert.match(failed?.message ?? "", /OOMKilled/);
    // The runtime's own account: the container was OOM-killed (containerd reads the kernel's
    // memory cgroup events), not signalled by anyone.
    const pod = await w.core.readNamespacedPod({ name: `${name}-1`, namespace: NAMESPACE });
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason, "OOMKilled");
    assert.equal(pod.spec?.containers[0]?.resources?.limits?.memory, "40Mi");
  });

  test("a TrainingRun of the trainer image on the real node, evicted mid-run, resumes and ends bit-identical; it trains under the promised securityContext; kubectl logs and exec work", async () => {
    const name = "real-evicted";
    await w.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, {
      image: TRAINER_IMAGE,
      resources: { limits: { "nvidia.com/gpu": 1 } },
    })));
    await waitRun(w, name, "training", pastStep(50));
    const pod = await w.core.readNamespacedPod({ name: `${name}-1`, namespace: NAMESPACE });
    assert.equal(pod.spec?.nodeName, REAL_NODE);
    assert.match(pod.status?.containerStatuses?.[0]?.containerID ?? "", /^containerd:\/\//);
    // What the product promises for trainer pods (docs/security.md), pod and container
    // level together as the kubelet applies them, and below, as runc enforced them.
    assert.deepEqual(plain({ ...pod.spec?.securityContext, ...pod.spec?.containers[0]?.securityContext }), {
      runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] },
    });
    const exec = (cmd: string) => w.kubectl(["exec", "-n", NAMESPACE, `${name}-1`, "--", "sh", "-c", cmd]);
    assert.equal((await exec("id -u; id -g")).trim(), "1000\n1000");
    assert.match(await exec("touch /app/x 2>&1 || echo refused"), /Read-only file system[\s\S]*refused/);
    assert.match(await exec("grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status"), /CapEff:\s+0{16}\s+NoNewPrivs:\s+1\s+Seccomp:\s+2/);
    assert.match(await exec("ls /checkpoints"), /fence/);
    assert.match(await w.kubectl(["logs", "-n", NAMESPACE, `${name}-1`]), /"msg":"step"/);

    await waitRun(w, name, "training on", pastStep(100));
    await w.core.createNamespacedPodEviction({
      name: `${name}-1`, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: `${name}-1`, namespace: NAMESPACE } },
    });
    const done = await waitRun(w, name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(done.status?.preemptions, 1);
    assert.equal(done.status?.failures ?? 0, 0);
    assert.equal(done.status?.lostSteps, 0);
    assert.deepEqual(done.status?.attempts?.map((a) => a.node), [REAL_NODE, REAL_NODE]);
    const [, second] = assertResumeRecorded(w, done, { graceful: true });
    assert.ok(second!.resumedFromStep >= 100, `the second attempt resumed past where the eviction came (${second!.resumedFromStep})`);
    await assertBitIdentical(done);
  });
});

/** A client-node model object as the plain JSON the apiserver returned. */
function plain(o: unknown): unknown {
  return JSON.parse(JSON.stringify(o ?? null));
}

async function sh(cmd: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
  });
}

async function operatorPod(w: World): Promise<V1Pod> {
  return eventually("the operator pod Ready", async () => {
    const pods = await w.core.listNamespacedPod({ namespace: CHART_NAMESPACE, labelSelector: "app.kubernetes.io/name=resumable" });
    return pods.items.find((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  });
}

async function waitRun(w: World, name: string, what: string, check: (r: TrainingRun) => boolean, timeoutMs = 5 * 60_000): Promise<TrainingRun> {
  let last: TrainingRun | undefined;
  try {
    return await eventually(`${name}: ${what}`, async () => {
      last = (await w.custom.getNamespacedCustomObject({
        group: "resumable.dev", version: "v1alpha1", namespace: NAMESPACE, plural: "trainingruns", name,
      })) as TrainingRun;
      return check(last) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    const logs = await run("kubectl", ["--kubeconfig", w.cluster.kubeconfig, "logs", "-n", CHART_NAMESPACE, "deploy/resumable", "--tail=20"])
      .then((r) => r.stdout, () => "(no operator log)");
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}\noperator log tail:\n${logs}`);
  }
}

/** `kubectl port-forward` to the pod's port, one GET through it; resolves the status code. */
async function portForwardGet(kubeconfig: string, pod: string, port: number, path: string): Promise<number> {
  const pf = spawn("kubectl", ["--kubeconfig", kubeconfig, "port-forward", "-n", CHART_NAMESPACE, pod, `:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const local = await new Promise<number>((resolve, reject) => {
      let out = "";
      pf.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      pf.stderr.on("data", (d: Buffer) => (out += d.toString()));
      pf.on("exit", (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
    });
    return await new Promise<number>((resolve, reject) => {
      get({ host: "127.0.0.1", port: local, path, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });
  } finally {
    pf.kill();
  }
}
