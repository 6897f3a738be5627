// A run whose credentialsSecret does not exist yet: the kubelet can set up no volume for the
// pod, which stays ContainerCreating on a spot node's GPU and says why only in FailedMount
// events. The run names the Secret (ObjectsFound=False), deletes the pod after the grace so
// the GPU is free, and retries with backoff without spending its retry budget; once the
// Secret is created, the next attempt starts and the run completes with no failure counted.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
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

const objectsFound = (r: Awaited<ReturnType<typeof e.getRun>>) => r.status?.conditions?.find((c) => c.type === "ObjectsFound");

describe("a Secret the pod needs does not exist", { timeout: 1_200_000 }, () => {
  test("named at once, its pod deleted after the grace, retried without spending the budget, and it trains once the Secret exists", async () => {
    const name = "late-key";
    const storage = { s3: { bucket: s3.bucket, prefix: `team-a/${name}`, endpoint: s3.endpoint, region: s3.region, credentialsSecret: { name: "late-key" } } };
    // maxRetries 0: any attempt counted as a failure would fail the run.
    const spec = { checkpoint: { storage }, resources: { limits: { "nvidia.com/gpu": "1" } }, failurePolicy: { maxRetries: 0, backoff: { initialSeconds: 1, maxSeconds: 4 } } };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, spec)));

    const waiting = await e.waitRun(name, "ObjectsFound=False", (r) => objectsFound(r)?.status === "False");
    assert.match(objectsFound(waiting)?.message ?? "", new RegExp(`^Secret ${NAMESPACE}/late-key \\(spec\\.checkpoint\\.storage\\.s3\\.credentialsSecret\\) does not exist: pod ${name}-1 cannot start \\(kubelet: .*secret "late-key" not found\\)`));
    assert.equal(objectsFound(waiting)?.reason, "SecretNotFound");

    // After the grace: attempt 1 Blocked and its pod gone (its GPU free); later retries too, none a failure.
    const blocked = await e.waitRun(name, "three attempts Blocked", (r) => (r.status?.attempts ?? []).filter((a) => a.endReason === "Blocked").length >= 3);
    assert.equal(blocked.status?.failures ?? 0, 0);
    assert.notEqual(blocked.status?.phase, "Failed");
    await eventually(`pod ${name}-1 deleted`, async () => ((await e.runPods(name)).some((p) => p.metadata?.name === `${name}-1`) ? undefined : true));

    await e.kubectl(["create", "secret", "generic", "late-key", "-n", NAMESPACE, `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`]);
    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"));
    assert.equal(objectsFound(run)?.status, "True");
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.preemptions ?? 0, 0);
    const attempts = run.status?.attempts ?? [];
    assert.ok(attempts.slice(0, -1).every((a) => a.endReason === "Blocked" && a.endDetail === "SecretNotFound"), JSON.stringify(attempts.map((a) => [a.attempt, a.endReason, a.endDetail])));
    assert.equal(attempts.at(-1)?.endReason, "Succeeded");
  });
});
