// What any pod sees on the local cluster, checked against the real
// control plane: it runs and Succeeds, its volumes (hostPath, ConfigMap,
// downward API, emptyDir, the projected service-account token) are at their
// mountPaths, `kubectl delete` delivers SIGTERM then SIGKILL after the grace
// period (as the process itself records it), OnFailure restarts, a PVC's data
// outlives the pod, and stopping the cluster leaves no process behind.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { eventually, useCluster } from "../support/cluster.js";

// A cluster of its own, not the shared one: it tests the process kubelet itself, on its default nodes.
const c = useCluster();
const ns = "default";

function podYaml(name: string, script: string, extra: { volumes?: unknown[]; mounts?: unknown[]; grace?: number; restartPolicy?: string } = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { app: "volumes" } },
    spec: {
      restartPolicy: extra.restartPolicy ?? "Never",
      terminationGracePeriodSeconds: extra.grace ?? 30,
      containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script], volumeMounts: extra.mounts ?? [] }],
      volumes: extra.volumes ?? [],
    },
  });
}

async function phase(name: string): Promise<string | undefined> {
  const pod = await c.core.readNamespacedPod({ name, namespace: ns });
  return pod.status?.phase;
}

/**
 * A pod whose process writes its pid to a hostPath dir and then runs on until killed
 * (`setup` decides what it does with SIGTERM). `$$$$` because the kubelet unescapes `$$` to
 * `$` in command and args. Resolves once the pid is written, with the host dir and the pid.
 */
async function pidWritingPod(t: TestContext, name: string, setup: string): Promise<{ host: string; pid: number }> {
  const host = mkdtempSync(join(tmpdir(), "resumable-hostpath-"));
  t.after(() => rmSync(host, { recursive: true, force: true }));
  await c.kubectl(["apply", "-f", "-"], podYaml(name, `${setup}; echo $$$$ > /data/pid; while true; do sleep 0.2; done`, {
    grace: 2,
    volumes: [{ name: "data", hostPath: { path: host } }],
    mounts: [{ name: "data", mountPath: "/data" }],
  }));
  const pid = await eventually(`${name} running with its pid written`, async () => {
    const text = existsSync(join(host, "pid")) ? readFileSync(join(host, "pid"), "utf8").trim() : "";
    return text && (await phase(name)) === "Running" ? Number(text) : undefined;
  });
  return { host, pid };
}

describe("pods on the process kubelet", { timeout: 600_000 }, () => {
  test("a pod applied with kubectl runs and Succeeds with the kubelet's status", async () => {
    await c.kubectl(["apply", "-f", "-"], podYaml("hello", "echo hello > /dev/termination-log"));
    await eventually("hello Succeeded", async () => ((await phase("hello")) === "Succeeded" ? true : undefined));
    const pod = await c.core.readNamespacedPod({ name: "hello", namespace: ns });
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 0);
    assert.equal(terminated?.reason, "Completed");
    assert.equal(terminated?.message?.trim(), "hello");
    const ready = pod.status?.conditions?.find((cond) => cond.type === "Ready");
    assert.equal(ready?.status, "False");
    assert.ok(pod.status?.podIP, "podIP is set");
    assert.ok(pod.status?.startTime, "startTime is set");
  });

  test("a failing command ends the pod Failed with exit code and reason Error", async () => {
    await c.kubectl(["apply", "-f", "-"], podYaml("fails", "exit 7"));
    await eventually("fails Failed", async () => ((await phase("fails")) === "Failed" ? true : undefined));
    const pod = await c.core.readNamespacedPod({ name: "fails", namespace: ns });
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 7);
    assert.equal(terminated?.reason, "Error");
  });

  test("a hostPath volume is visible at its mountPath; kubectl delete sends SIGTERM, then SIGKILL after the grace period", async (t) => {
    // The process records every SIGTERM, ignores it, and keeps running: only SIGKILL after
    // the grace period can end it.
    const { host, pid } = await pidWritingPod(t, "stubborn", "trap 'echo TERM >> /data/signals' TERM");
    assert.equal(existsSync("/data/pid"), false, "the mount is private to the pod's mount namespace");
    await c.kubectl(["delete", "pod", "stubborn", "--wait=true", "--timeout=60s"]);
    assert.match(readFileSync(join(host, "signals"), "utf8"), /TERM/);
    assert.throws(() => process.kill(pid, 0), /ESRCH/, "the process was killed");
  });

  test("ConfigMap, downward API, emptyDir and the service-account token are at their mountPaths", async () => {
    await c.kubectl(["create", "configmap", "settings", "--from-literal=greeting=hi"]);
    const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    const script = `{ ${[
      "cat /etc/settings/greeting /etc/podinfo/name /etc/podinfo/labels; echo",
      "echo scratch > /scratch/f && cat /scratch/f",
      `test -s ${sa}/token && grep -q 'BEGIN CERTIFICATE' ${sa}/ca.crt && cat ${sa}/namespace && echo`,
    ].join("; ")}; } > /dev/termination-log 2>&1`;
    await c.kubectl(["apply", "-f", "-"], podYaml("volumes", script, {
      volumes: [
        { name: "settings", configMap: { name: "settings" } },
        { name: "podinfo", downwardAPI: { items: [
          { path: "name", fieldRef: { fieldPath: "metadata.name" } },
          { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
        ] } },
        { name: "scratch", emptyDir: {} },
      ],
      mounts: [
        { name: "settings", mountPath: "/etc/settings" },
        { name: "podinfo", mountPath: "/etc/podinfo" },
        { name: "scratch", mountPath: "/scratch" },
      ],
    }));
    await eventually("volumes Succeeded", async () => {
      const p = await phase("volumes");
      if (p === "Failed") throw new Error("volumes Failed");
      return p === "Succeeded" ? true : undefined;
    });
    const pod = await c.core.readNamespacedPod({ name: "volumes", namespace: ns });
    // The ServiceAccount admission plugin added the projected token volume (token, ca.crt, namespace).
    assert.ok(pod.spec?.volumes?.some((v) => v.projected?.sources?.some((src) => src.serviceAccountToken)));
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.message, 'hivolumesapp="volumes"\nscratch\ndefault\n');
  });

  test("restartPolicy OnFailure restarts a failed container, after back-off, until it succeeds", async () => {
    // emptyDir outlives the container within the pod: the count survives the restart.
    const script = "n=$$(cat /state/n 2>/dev/null || echo 0); n=$$((n + 1)); echo $$n > /state/n; echo run $$n > /dev/termination-log; [ $$n -ge 2 ]";
    await c.kubectl(["apply", "-f", "-"], podYaml("retries", script, {
      restartPolicy: "OnFailure",
      volumes: [{ name: "state", emptyDir: {} }],
      mounts: [{ name: "state", mountPath: "/state" }],
    }));
    await eventually("retries Succeeded", async () => ((await phase("retries")) === "Succeeded" ? true : undefined), 120_000);
    const status = (await c.core.readNamespacedPod({ name: "retries", namespace: ns })).status?.containerStatuses?.[0];
    assert.equal(status?.restartCount, 1);
    assert.equal(status?.lastState?.terminated?.exitCode, 1);
    assert.equal(status?.lastState?.terminated?.message?.trim(), "run 1");
    assert.equal(status?.state?.terminated?.exitCode, 0);
    assert.equal(status?.state?.terminated?.message?.trim(), "run 2");
  });

  test("a file a pod writes on a PVC is read by the next pod", async () => {
    await c.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "shared", namespace: ns },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }));
    const volume = { volumes: [{ name: "v", persistentVolumeClaim: { claimName: "shared" } }], mounts: [{ name: "v", mountPath: "/ckpt" }] };
    await c.kubectl(["apply", "-f", "-"], podYaml("writer", "echo step-42 > /ckpt/marker", volume));
    await eventually("writer Succeeded", async () => ((await phase("writer")) === "Succeeded" ? true : undefined), 120_000);
    await c.kubectl(["apply", "-f", "-"], podYaml("reader", "cat /ckpt/marker > /dev/termination-log", volume));
    await eventually("reader Succeeded", async () => ((await phase("reader")) === "Succeeded" ? true : undefined));
    const pod = await c.core.readNamespacedPod({ name: "reader", namespace: ns });
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.message?.trim(), "step-42");
  });

  // Last: it stops the cluster (useCluster's own stop then finds nothing to do).
  test("stopping the cluster leaves no process behind: control plane, kubelet, and a pod that ignores SIGTERM", async (t) => {
    const { pid } = await pidWritingPod(t, "lingering", "trap '' TERM");
    await c.cluster.stop();
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `pod process ${pid} still running`);
    for (const p of c.cluster.processes) assert.throws(() => process.kill(p.pid, 0), /ESRCH/, `${p.name} (pid ${p.pid}) still running`);
    assert.equal(existsSync(c.cluster.stateDir), false);
  });
});
