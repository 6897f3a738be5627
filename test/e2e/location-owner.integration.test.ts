// One owner per checkpoint location, through the operator: a run deleted and applied again
// under the same name is another run (another uid, which the operator hands the trainer as
// RESUMABLE_RUN_UID). Pointed at the old run's bucket prefix, it fails at once naming the old
// run, trains nothing, and the old run's objects stay byte for byte as they were. The operator
// cannot see this case (the old run is gone); the trainer's check covers it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startS3Server, type S3Server } from "../s3/server.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { isPhase } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });
let s3: S3Server;

before(async () => {
  s3 = await startS3Server({ bucket: "ml-checkpoints" });
});
after(async () => s3?.stop());

/** Every object under the prefix and its bytes (base64), by key. */
async function objectsUnder(prefix: string): Promise<Record<string, string>> {
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    const all: Record<string, string> = {};
    for (const o of listed.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: o.Key }));
      all[o.Key!] = Buffer.from(await got.Body!.transformToByteArray()).toString("base64");
    }
    return all;
  } finally {
    client.destroy();
  }
}

describe("one owner per checkpoint location", { timeout: 1_200_000 }, () => {
  test("a run re-created under the same name on the old run's bucket prefix fails at once naming the old run; the old objects stay", async () => {
    const name = "owned";
    const prefix = `owners/${name}`;
    await e.kubectl([
      "create", "secret", "generic", "s3-key", "-n", NAMESPACE,
      `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`,
    ]);
    const storage = { s3: { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: s3.region, credentialsSecret: { name: "s3-key" } } };
    const manifest = JSON.stringify(trainingRun(name, { checkpoint: { storage } }));
    await e.kubectl(["apply", "-f", "-"], manifest);
    const first = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    const oldUid = first.metadata?.uid;
    assert.ok(oldUid);
    const before = await objectsUnder(`${prefix}/`);
    assert.ok(Object.keys(before).some((k) => k.endsWith("/manifest.json")), "the first run's checkpoints are in the bucket");

    await e.kubectl(["delete", "trainingrun", name, "-n", NAMESPACE, "--wait=true"]);
    await eventually(`${name}: the first run's pods are gone`, async () => ((await e.runPods(name)).length === 0 ? true : undefined), 3 * 60_000);
    await e.kubectl(["apply", "-f", "-"], manifest);

    const second = await e.waitRun(name, "Failed", isPhase("Failed"), 5 * 60_000);
    assert.notEqual(second.metadata?.uid, oldUid, "another run of the same name");
    const failed = second.status?.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.reason, "StorageInUse", "exit 2 with failure kind locationOwned: permanent, not retried, not InvalidConfig");
    assert.match(failed?.message ?? "", new RegExp(`belongs to run ${NAMESPACE}/${name} \\(uid ${oldUid}\\)`), "the owner named");
    assert.equal(second.status?.attempts?.[0]?.exitCode, 2);
    assert.equal(second.status?.attempt, 1, "not retried");
    assert.deepEqual(await objectsUnder(`${prefix}/`), before, "the old run's fence, commits and checkpoints byte for byte");
  });
});
