// The process kubelet against a real control plane: what a pod sees and what
// the API reports, for a run to completion, a graceful deletion and a spot
// reclaim.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { systemClock } from "@resumable/kube-runtime";
import { startCluster, type Cluster } from "../cluster.js";
import { ApiClient, isNotFound } from "./api/client.js";
import type { Node, Pod } from "./api/types.js";

let cluster: Cluster;
let api: ApiClient;
let hostDir: string;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await systemClock.sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const kubectl = (args: string[], input?: string) =>
  execFileSync("kubectl", ["--kubeconfig", cluster.kubeconfig, ...args], { encoding: "utf8", ...(input ? { input } : {}) });
const getPod = (name: string) => api.get<Pod>(`/api/v1/namespaces/default/pods/${name}`);
const gone = (name: string) =>
  getPod(name).then(
    () => undefined,
    (err: unknown) => (isNotFound(err) ? true : undefined),
  );

before(async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "kubelet-it-"));
  hostDir = mkdtempSync(join(tmpdir(), "kubelet-it-host-"));
  cluster = await startCluster({ stateDir });
  api = await ApiClient.fromKubeconfig(cluster.kubeconfig);
  // Pods are admitted only once the controller-manager has made the namespace's default ServiceAccount.
  await until("the default ServiceAccount", () => api.get("/api/v1/namespaces/default/serviceaccounts/default"));
});

after(async () => {
  await cluster?.stop();
  rmSync(hostDir, { recursive: true, force: true });
});

describe("process kubelet", () => {
  it("runs a pod applied with kubectl to Succeeded, with its volume at its mountPath", async () => {
    execFileSync("sh", ["-c", `echo from-the-host > ${hostDir}/greeting`]);
    kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hello" },
      spec: {
        restartPolicy: "Never",
        containers: [{
          name: "main",
          image: "busybox",
          command: ["sh", "-c", 'cat /data/greeting > /dev/termination-log; echo "$POD_NAME on $NODE" >> /dev/termination-log'],
          env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          volumeMounts: [{ name: "host", mountPath: "/data" }],
        }],
        volumes: [{ name: "host", hostPath: { path: hostDir } }],
      },
    }));
    const pod = await until("hello to succeed", async () => {
      const p = await getPod("hello");
      return p.status?.phase === "Succeeded" ? p : undefined;
    });
    const state = pod.status?.containerStatuses?.[0]?.state.terminated;
    assert.equal(state?.exitCode, 0);
    assert.equal(state?.reason, "Completed");
    assert.equal(state?.message, `from-the-host\nhello on ${pod.spec.nodeName}\n`);
    // From the 127.X.0.0/16 this cluster's kubelet claimed (pod/pod-network.ts): X is 1 only
    // when no other cluster on the machine (the suite's shared one, say) holds it.
    const octet = readFileSync(join(cluster.stateDir, "kubelet", "pod-network"), "utf8").trim();
    assert.match(pod.status?.podIP ?? "", new RegExp(`^127\\.${octet}\\.\\d+\\.\\d+$`));
    assert.equal(pod.status?.conditions?.find((c) => c.type === "Ready")?.reason, "PodCompleted");
  });

  it("delivers SIGTERM on kubectl delete, then SIGKILL after the grace period", async () => {
    const marks = join(hostDir, "signals");
    kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "stubborn" },
      spec: {
        terminationGracePeriodSeconds: 3,
        containers: [{
          name: "main",
          image: "busybox",
          // Records SIGTERM and carries on, marking that it still lives: only SIGKILL ends it.
          command: ["sh", "-c", "trap 'echo TERM >> /host/signals; termed=1' TERM; echo up >> /host/signals; while true; do [ -n \"$termed\" ] && echo alive >> /host/signals; sleep 0.1; done"],
          volumeMounts: [{ name: "host", mountPath: "/host" }],
        }],
        volumes: [{ name: "host", hostPath: { path: hostDir } }],
      },
    }));
    await until("stubborn to run", async () => ((await getPod("stubborn")).status?.phase === "Running" ? true : undefined));
    await until("the container to be up", async () => (readFileSync(marks, "utf8").includes("up") ? true : undefined));
    kubectl(["delete", "pod", "stubborn", "--wait=false"]);
    await until("the pod to be gone", () => gone("stubborn"));
    // SIGTERM came first and did not end it: the process went on through the grace period
    // until the SIGKILL (no timing asserted here; the kubelet's clock is its own business).
    assert.match(readFileSync(marks, "utf8"), /^up\nTERM\n(alive\n)+$/);
  });

  it("terminates pods on spot-reclaim the way graceful node shutdown does, then deletes the Node", async () => {
    kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "trainer" },
      spec: {
        restartPolicy: "Never",
        nodeSelector: { "kubernetes.io/hostname": "spot-a" },
        tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Exists", effect: "NoSchedule" }],
        containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done"] }],
      },
    }));
    await until("trainer to run", async () => ((await getPod("trainer")).status?.phase === "Running" ? true : undefined));
    kubectl(["annotate", "node", "spot-a", "resumable.dev/fault=spot-reclaim"]);
    const pod = await until("trainer to fail", async () => {
      const p = await getPod("trainer");
      return p.status?.phase === "Failed" ? p : undefined;
    });
    assert.equal(pod.status?.reason, "Terminated");
    assert.equal(pod.status?.message, "Pod was terminated in response to imminent node shutdown.");
    const disruption = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget");
    assert.equal(disruption?.status, "True");
    assert.equal(disruption?.reason, "TerminationByKubelet");
    assert.equal(disruption?.message, "Pod was terminated in response to imminent node shutdown.");
    assert.equal(pod.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 143);
    await until("the Node to be deleted", () =>
      api.get<Node>("/api/v1/nodes/spot-a").then(
        () => undefined,
        (err: unknown) => (isNotFound(err) ? true : undefined),
      ),
    );
  });
});
