// Disruptions as the real control plane produces them: the Eviction API
// (kubectl drain), graceful node shutdown on a spot reclaim, and a node that
// vanishes, which the real node lifecycle controller taints and evicts from.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { eventually, useCluster } from "../support/cluster.js";

// A cluster of its own, not the shared one: it faults nodes.
const c = useCluster();
const ns = "default";

/** A long-running pod pinned to `node` through the scheduler (selector + the spot toleration). */
async function runOn(name: string, node: string): Promise<void> {
  await c.kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 5,
      nodeSelector: { "kubernetes.io/hostname": node },
      tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" }],
      // Lingers a second after SIGTERM, as a trainer flushing a checkpoint
      // does; the whole drain is otherwise over before a poll can see it.
      containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "trap 'sleep 1; exit 143' TERM; while true; do sleep 0.2; done"] }],
    },
  }));
  await eventually(`${name} Running on ${node}`, async () => {
    const pod = await c.core.readNamespacedPod({ name, namespace: ns });
    return pod.status?.phase === "Running" && pod.spec?.nodeName === node ? true : undefined;
  });
}

async function readPod(name: string): Promise<V1Pod | undefined> {
  try {
    return await c.core.readNamespacedPod({ name, namespace: ns });
  } catch {
    return undefined;
  }
}

const disruption = (pod: V1Pod | undefined) => pod?.status?.conditions?.find((cond) => cond.type === "DisruptionTarget");

describe("node faults", { timeout: 900_000 }, () => {
  test("kubectl drain evicts through the Eviction API and the apiserver sets DisruptionTarget", async () => {
    await runOn("drained", "ondemand-a");
    const watched = eventually("DisruptionTarget on the evicted pod", async () => {
      const cond = disruption(await readPod("drained"));
      return cond ? cond : undefined;
    }, 60_000);
    await c.kubectl(["drain", "ondemand-a", "--force", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"]);
    const cond = await watched;
    assert.equal(cond.reason, "EvictionByEvictionAPI");
    await eventually("evicted pod gone", async () => ((await readPod("drained")) ? undefined : true));
    await c.kubectl(["uncordon", "ondemand-a"]);
  });

  test("spot reclaim after a notice: the node is tainted while Ready, then shut down as the kubelet does, then goes", async () => {
    await runOn("reclaimed", "spot-a");
    await c.kubectl(["annotate", "node", "spot-a", "resumable.dev/fault-notice=aws-spot-itn", "resumable.dev/fault-notice-seconds=3"]);
    await c.kubectl(["annotate", "node", "spot-a", "resumable.dev/fault=spot-reclaim"]);
    await eventually("the spot-itn taint on a Ready spot-a, its pod still Running", async () => {
      const n = await c.core.readNode({ name: "spot-a" });
      const ready = n.status?.conditions?.find((cond) => cond.type === "Ready")?.status === "True";
      const tainted = n.spec?.taints?.some((t) => t.key === "aws-node-termination-handler/spot-itn" && t.effect === "NoSchedule");
      return ready && tainted && (await readPod("reclaimed"))?.status?.phase === "Running" ? true : undefined;
    }, 60_000);
    const pod = await eventually("reclaimed pod Failed", async () => {
      const p = await readPod("reclaimed");
      return p?.status?.phase === "Failed" ? p : undefined;
    }, 120_000);
    assert.equal(pod.status?.reason, "Terminated");
    assert.equal(pod.status?.message, "Pod was terminated in response to imminent node shutdown.");
    const cond = disruption(pod);
    assert.equal(cond?.status, "True");
    assert.equal(cond?.reason, "TerminationByKubelet");
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143);
    await eventually("spot-a deleted", async () => {
      const nodes = await c.core.listNode();
      return nodes.items.some((n) => n.metadata?.name === "spot-a") ? undefined : true;
    }, 120_000);
  });

  test("hard node loss: the real controller-manager marks the node unhealthy and evicts its pods", async () => {
    await runOn("lost", "spot-b");
    await c.kubectl(["annotate", "node", "spot-b", "resumable.dev/fault=hard-loss"]);
    const node = await eventually("spot-b Ready=Unknown and tainted unreachable", async () => {
      const n = await c.core.readNode({ name: "spot-b" });
      const ready = n.status?.conditions?.find((cond) => cond.type === "Ready");
      const tainted = n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute");
      return ready?.status === "Unknown" && tainted ? n : undefined;
    }, 120_000);
    assert.ok(node);
    // Taint-based eviction: the pod is marked and deleted, and stays
    // Terminating because no kubelet confirms — exactly what the operator
    // must not wait on forever.
    const pod = await eventually("taint-based eviction of the lost pod", async () => {
      const p = await readPod("lost");
      return p?.metadata?.deletionTimestamp && disruption(p) ? p : undefined;
    }, 120_000);
    assert.equal(disruption(pod)?.reason, "DeletionByTaintManager");
  });
});
