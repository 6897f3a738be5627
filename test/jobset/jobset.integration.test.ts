// The real JobSet controller (built from its module by build.sh, cold once) on a local cluster
// of its own: its webhooks answer from the host, and a JobSet's child Jobs run their pods to
// completion on the process kubelet. The foundation the side-by-side benchmark stands on.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, useCluster } from "../support/cluster.js";
import { startJobSet } from "./start.js";

// A cluster of its own, not the shared one: JobSet's webhooks and CRDs are cluster-wide.
const t = useCluster();
// In a suite, so that its set-up runs after useCluster's: two root-level `before` hooks run at once.
describe("JobSet on the local cluster", () => {
  before(async () => {
    await startJobSet(t.cluster);
  }, { timeout: 30 * 60_000 });

  /** A replicated Job of `replicas` one-pod Jobs running busybox `script` (a host shell on the process kubelet). */
  const replicatedJob = (name: string, replicas: number, script: string) => ({
    name,
    replicas,
    template: {
      spec: {
        parallelism: 1, completions: 1, backoffLimit: 0,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }] } },
      },
    },
  });

  const jobSet = (name: string, replicatedJobs: unknown[], spec: Record<string, unknown> = {}) => JSON.stringify({
    apiVersion: "jobset.x-k8s.io/v1alpha2", kind: "JobSet", metadata: { name, namespace: "default" }, spec: { replicatedJobs, ...spec },
  });

  test("JobSet's validating webhook, served on the host, refuses a failure policy naming a replicated Job that does not exist", async () => {
    // Checked by the webhook alone (the CRD's schema cannot see across fields): only a working
    // webhook gives this message.
    const failurePolicy = { rules: [{ name: "stop", action: "FailJobSet", targetReplicatedJobs: ["nosuch"] }] };
    await assert.rejects(t.kubectl(["create", "-f", "-"], jobSet("bad", [replicatedJob("workers", 1, "true")], { failurePolicy })),
      (err: Error) => /invalid replicatedJob name 'nosuch' in failure policy does not appear/.test(err.message));
  });

  test("a JobSet of 2 replicated Jobs (a driver and 2 workers) runs every pod to completion and is Completed", async () => {
    await t.kubectl(["create", "-f", "-"], jobSet("smoke", [
      replicatedJob("driver", 1, "echo driver"),
      replicatedJob("workers", 2, "echo worker $JOB_COMPLETION_INDEX"),
    ]));
    const completed = await eventually("the JobSet to be Completed", async () => {
      const js = JSON.parse(await t.kubectl(["get", "jobset", "smoke", "-o", "json"])) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      return js.status?.conditions?.find((c) => c.type === "Completed" && c.status === "True");
    }, 120_000);
    assert.ok(completed);
    const pods = JSON.parse(await t.kubectl(["get", "pods", "-l", "jobset.sigs.k8s.io/jobset-name=smoke", "-o", "json"])) as {
      items: { metadata: { labels: Record<string, string> }; status: { phase: string } }[];
    };
    // One pod per child Job: smoke-driver-0, smoke-workers-0 and smoke-workers-1.
    assert.deepEqual(pods.items.map((p) => p.status.phase), ["Succeeded", "Succeeded", "Succeeded"]);
    assert.deepEqual(pods.items.map((p) => p.metadata.labels["jobset.sigs.k8s.io/replicatedjob-name"]).sort(), ["driver", "workers", "workers"]);
  });
});
