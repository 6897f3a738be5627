// What any pod sees on the local cluster, checked against the real
// control plane: it runs and Succeeds, its volumes are at their mountPaths,
// `kubectl delete` delivers SIGTERM then SIGKILL after the grace period (as
// the process itself records it), and a PVC's data outlives the pod.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { eventually, useCluster } from "../support/cluster.js";

const c = useCluster();
const ns = "default";

function podYaml(name: string, script: string, extra: { volumes?: unknown[]; mounts?: unknown[]; grace?: number } = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      restartPolicy: "Never",
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
    const host = mkdtempSync(join(tmpdir(), "resumable-hostpath-"));
    t.after(() => rmSync(host, { recursive: true, force: true }));
    // The process records its pid and every SIGTERM, ignores it, and keeps
    // running: only SIGKILL after the grace period can end it. `$$$$` because
    // the kubelet unescapes `$$` to `$` in command and args.
    const script = "trap 'echo TERM >> /data/signals' TERM; echo $$$$ > /data/pid; while true; do sleep 0.2; done";
    await c.kubectl(["apply", "-f", "-"], podYaml("stubborn", script, {
      grace: 2,
      volumes: [{ name: "data", hostPath: { path: host } }],
      mounts: [{ name: "data", mountPath: "/data" }],
    }));
    await eventually("stubborn Running with its pid written", async () =>
      (await phase("stubborn")) === "Running" && existsSync(join(host, "pid")) && readFileSync(join(host, "pid"), "utf8").trim() ? true : undefined);
    assert.equal(existsSync("/data/pid"), false, "the mount is private to the pod's mount namespace");
    const pid = Number(readFileSync(join(host, "pid"), "utf8"));
    await c.kubectl(["delete", "pod", "stubborn", "--wait=true", "--timeout=60s"]);
    assert.match(readFileSync(join(host, "signals"), "utf8"), /TERM/);
    assert.throws(() => process.kill(pid, 0), /ESRCH/, "the process was killed");
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
});
