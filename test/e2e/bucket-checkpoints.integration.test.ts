// A run whose checkpoints are in a bucket (spec.checkpoint.storage.s3) against a real S3
// server process: attempt 1 runs on spot-a (zone a), spot-a is reclaimed with its whole zone
// cordoned, and attempt 2 resumes in zone b from the bucket. The operator created no PVC, the
// trainer read its access key from the Secret the spec names (keys renamed), and the resume is
// proven by the trainers' own records: no step lost, weights bit-identical to an uninterrupted run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startS3Server, type S3Server } from "../s3/server.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep, ZONE_LABEL, zoneOf } from "./expect.js";
import { trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: it reclaims spot-a and cordons its zone.
const e = useE2E();
let s3: S3Server;

before(async () => {
  s3 = await startS3Server({ bucket: "ml-checkpoints" });
});
after(async () => s3?.stop());



describe("checkpoints in a bucket", { timeout: 1_200_000 }, () => {
  test("a reclaimed run resumes in another zone from the bucket, with no PVC and no lost steps", async () => {
    const name = "bucketed";
    await e.kubectl(
      ["create", "secret", "generic", "s3-key", "-n", NAMESPACE, `--from-literal=id=${s3.credentials.accessKeyId}`, `--from-literal=secret=${s3.credentials.secretAccessKey}`],
    );
    // Attempt 1 on spot-a: its zone's other spot node does not exist, spot-b waits cordoned.
    await e.kubectl(["cordon", "spot-b"]);
    const storage = {
      s3: { bucket: s3.bucket, prefix: `team-a/${name}`, endpoint: s3.endpoint, region: s3.region, credentialsSecret: { name: "s3-key", accessKeyIdKey: "id", secretAccessKeyKey: "secret" } },
    };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { checkpoint: { storage }, resources: { limits: { "nvidia.com/gpu": "1" } } })));
    const training = await e.waitRun(name, "training past a bucket checkpoint", (r) => pastStep(100)(r) && (r.status?.lastCheckpoint?.step ?? 0) >= 50);
    assert.equal(training.status?.checkpointStorage, `s3://${s3.bucket}/team-a/${name}`);
    assert.match(training.status?.lastCheckpoint?.path ?? "", new RegExp(`^s3://${s3.bucket}/team-a/${name}/ckpt-\\d{8}-a1$`), "the newest checkpoint's object URL");
    const firstNode = (await currentPod(e, name)).spec!.nodeName!;
    assert.equal(firstNode, "spot-a");

    // The reclaim: zone a cordoned (as after a reclaim wave), zone b open again.
    const firstZone = await zoneOf(e, firstNode);
    for (const node of (await e.core.listNode()).items) {
      if (node.metadata?.labels?.[ZONE_LABEL] === firstZone) await e.kubectl(["cordon", node.metadata!.name!]);
    }
    await e.kubectl(["uncordon", "spot-b"]);
    await e.kubectl(["annotate", "node", firstNode, "resumable.dev/fault=spot-reclaim"]);

    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const second = run.status?.attempts?.find((a) => a.attempt === 2);
    assert.ok(second?.node, "attempt 2 ran on a node");
    assert.notEqual(await zoneOf(e, second.node), firstZone, `attempt 2 ran in another zone (${second.node})`);
    assert.equal(run.status?.lastCheckpoint?.reason, "final");
    assert.match(run.status?.lastCheckpoint?.path ?? "", new RegExp(`^s3://${s3.bucket}/team-a/${name}/ckpt-\\d{8}-a2$`));

    const pvcs = await e.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
    assert.deepEqual(pvcs.items.map((p) => p.metadata?.name), [], "no PVC for a run on a bucket");
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `team-a/${name}/` }));
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? "");
      assert.ok(keys.some((k) => /\/ckpt-\d{8}-a2\/manifest\.json$/.test(k)), `attempt 2's checkpoints are in the bucket: ${keys.join(", ")}`);
    } finally {
      client.destroy();
    }

    assertResumeRecorded(e, run, { graceful: true });
    await assertBitIdentical(run);
  });
});
