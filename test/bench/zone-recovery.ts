// Recovery across zones: a run on spot-a (zone a) is reclaimed while its whole zone is
// cordoned (a reclaim wave), so its next attempt can only run in zone b. Once with its
// checkpoints on a zonal volume, once in a bucket; each in a cluster of its own. Measured: from
// the reclaim to the next attempt's first training step (the trainer's own log `time`).
//
// The local cluster's local-path volumes are host directories that any node can mount, unlike
// a cloud disk (a GCE PD or EBS volume lives in one zone). The volume here is modelled as one:
// a PV whose nodeAffinity requires zone a (as a CSI driver sets for a zonal disk), bound to
// the PVC the run names (spec.checkpoint.claimName). The scheduler then keeps every attempt in
// zone a, so with zone a cordoned the volume run does not recover: that is reported as such,
// after BENCH_ZONE_WAIT_SECONDS (default 180), never as a figure.
//
//   node --import tsx test/bench/zone-recovery.ts
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startS3Server } from "../s3/server.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, startE2E, type E2E } from "../e2e/harness.js";
import { SMALL_TRAINING, trainingRun } from "../e2e/runs.js";
import { trainerAttempts } from "../e2e/trainer-records.js";
import { table } from "./_util.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";

const WAIT_MS = Number(process.env.BENCH_ZONE_WAIT_SECONDS ?? 180) * 1000;
const RUN = "zone-recovery";
const ZONE = "topology.kubernetes.io/zone";
const ZONE_A = "us-central1-a";

type Outcome = { recoveredMs: number; node: string } | { waitedMs: number; why: string };

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`load average before: ${load()}`);
const bucket = await scenario("bucket", async (e) => {
  const s3 = await startS3Server({ bucket: "ml-checkpoints" });
  await e.kubectl(["create", "secret", "generic", "s3-key", "-n", NAMESPACE,
    `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`]);
  const storage = { s3: { bucket: s3.bucket, prefix: RUN, endpoint: s3.endpoint, region: s3.region, credentialsSecret: { name: "s3-key" } } };
  return { checkpoint: { storage }, cleanup: () => s3.stop() };
});
const volume = await scenario("zonal volume", async (e) => {
  const dir = mkdtempSync(join(tmpdir(), "resumable-zonal-pd-"));
  chmodSync(dir, 0o777); // the non-root trainer writes there, as on a provisioned volume
  await e.kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "zonal-pd-a" },
        spec: {
          storageClassName: "", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain",
          hostPath: { path: dir, type: "Directory" },
          claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: NAMESPACE, name: "zonal-checkpoints" },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In", values: [ZONE_A] }] }] } },
        },
      },
      {
        apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "zonal-checkpoints", namespace: NAMESPACE },
        spec: { storageClassName: "", volumeName: "zonal-pd-a", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
  }));
  return { checkpoint: { claimName: "zonal-checkpoints" }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
console.log(`load average after: ${load()}`);

const describe = (o: Outcome) => ("recoveredMs" in o ? `${o.recoveredMs} ms (on ${o.node})` : `no recovery within ${Math.round(o.waitedMs / 1000)} s: ${o.why}`);
console.log(`\nReclaim with zone a cordoned → next attempt's first training step\n`);
console.log(table(["checkpoints", "recovery"], [["bucket", describe(bucket)], ["zonal volume", describe(volume)]]));
if ("recoveredMs" in bucket && "recoveredMs" in volume) {
  console.log(`\nvolume / bucket: ${(volume.recoveredMs / bucket.recoveredMs).toFixed(2)}`);
} else if ("recoveredMs" in bucket) {
  console.log(`\nvolume / bucket: more than ${(("waitedMs" in volume ? volume.waitedMs : 0) / bucket.recoveredMs).toFixed(1)} (the volume run never moved)`);
}

/** One cluster: attempt 1 on spot-a, a checkpoint committed, then the reclaim with zone a cordoned. */
async function scenario(
  label: string,
  setup: (e: E2E) => Promise<{ checkpoint: TrainingRunSpecInput["checkpoint"]; cleanup: () => Promise<void> }>,
): Promise<Outcome> {
  const e = await startE2E();
  let cleanup = async () => {};
  try {
    const s = await setup(e);
    cleanup = s.cleanup;
    await e.kubectl(["cordon", "spot-b"]); // attempt 1 on spot-a
    // Never finishes on its own: measured, then deleted with its cluster.
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(RUN, {
      training: { ...SMALL_TRAINING, totalSteps: 10_000_000 },
      checkpoint: s.checkpoint,
    })));
    const first = await e.waitRun(RUN, "a checkpoint committed", (r) => r.status?.phase === "Running" && (r.status.lastCheckpoint?.step ?? 0) >= 50);
    const firstNode = first.status?.attempts?.find((a) => a.attempt === 1)?.node;
    if (firstNode !== "spot-a") throw new Error(`${label}: attempt 1 ran on ${firstNode}, not spot-a`);
    for (const node of (await e.core.listNode()).items) {
      if (node.metadata?.labels?.[ZONE] === ZONE_A) await e.kubectl(["cordon", node.metadata!.name!]);
    }
    await e.kubectl(["uncordon", "spot-b"]);
    const reclaimedAt = Date.now();
    await e.kubectl(["annotate", "node", "spot-a", "resumable.dev/fault=spot-reclaim"]);
    try {
      const firstStep = await eventually(`${label}: attempt 2's first step`, async () =>
        trainerAttempts(e, RUN).find((a) => a.attempt === 2)?.lines.find((l) => l.msg === "first step of this attempt")?.time as number | undefined, WAIT_MS);
      const run = await e.getRun(RUN);
      const outcome = { recoveredMs: firstStep - reclaimedAt, node: run.status?.attempts?.find((a) => a.attempt === 2)?.node ?? "?" };
      console.log(`${label}: ${JSON.stringify(outcome)}`);
      return outcome;
    } catch {
      const pod = (await e.runPods(RUN)).find((p) => p.metadata?.name === `${RUN}-2`);
      const scheduled = pod?.status?.conditions?.find((c) => c.type === "PodScheduled");
      const why = pod ? `attempt 2's pod ${pod.status?.phase}: ${scheduled?.message ?? scheduled?.reason ?? "(no scheduling message)"}` : "no attempt 2 pod";
      console.log(`${label}: ${why}`);
      return { waitedMs: Date.now() - reclaimedAt, why };
    }
  } finally {
    await e.stop();
    await cleanup();
  }
}
