// Faults around checkpoints kept in a bucket (spec.checkpoint.storage.s3), against a real S3
// server process, one cluster for all of them, in order:
//  - a node lost without warning: the next attempt starts at once on a node in another zone
//    (no volume to detach) and resumes from the newest periodic checkpoint in the bucket;
//  - the bucket unreachable mid-run (the server stopped, then started again on the same port
//    with the same data): saves fail visibly while training goes on, and succeed again;
//  - refused credentials: a permanent failure with the server's own error code, never a
//    start from step 0; a Secret that does not exist keeps the pod from starting, named.
// Resumes are proven by the trainers' own records (trainer-records.ts).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { startS3Server, type S3Server } from "../s3/server.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumedFromNewestSave, assertResumeRecorded, currentPod, isPhase, pastStep, zoneOf } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";
import { trainerAttempts } from "./trainer-records.js";
import { twinWeightsSha256 } from "./twin.js";

// A cluster of its own, not the shared one: it loses a node without warning.
const e = useE2E();
let s3: S3Server;

before(async () => {
  s3 = await startS3Server({ bucket: "ml-checkpoints" });
});
after(async () => s3?.stop());

const SECRET = "s3-key";


/** spec.checkpoint.storage for a run under its own prefix, its keys read from `secret`. */
function bucketStorage(name: string, secret = SECRET) {
  return {
    s3: { bucket: s3.bucket, prefix: `faults/${name}`, endpoint: s3.endpoint, region: s3.region, credentialsSecret: { name: secret } },
  };
}

/** A Secret whose keys are named as the trainer expects by default (AWS_ACCESS_KEY_ID, ...). */
async function createKeySecret(name: string, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<void> {
  await e.kubectl([
    "create", "secret", "generic", name, "-n", NAMESPACE,
    `--from-literal=AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}`,
  ]);
}

async function eventsOf(run: string) {
  const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${run}` });
  return events.items;
}

function condition(run: TrainingRun, type: string) {
  return run.status?.conditions?.find((c) => c.type === type);
}

/** The trainer's own counter of failed saves, scraped from the address its log says it serves. */
async function trainerCheckpointFailures(run: string): Promise<number> {
  const current = trainerAttempts(e, run).at(-1);
  const listening = current?.lines.find((l) => l.msg === "metrics server listening on /metrics");
  const address = listening?.address as { address?: string; port?: number } | undefined;
  assert.ok(address?.address && address.port, `${run}: the trainer logged its metrics address: ${JSON.stringify(listening)}`);
  const text = await (await fetch(`http://${address.address}:${address.port}/metrics`)).text();
  const m = /^resumable_trainer_checkpoint_failures_total (\d+)$/m.exec(text);
  assert.ok(m, `resumable_trainer_checkpoint_failures_total in the trainer's metrics`);
  return Number(m[1]);
}

describe("bucket checkpoint faults", { timeout: 1_500_000 }, () => {
  before(async () => createKeySecret(SECRET, s3.credentials));

  test("a lost node's run restarts at once in another zone from the newest periodic checkpoint in the bucket", async () => {
    const name = "bucket-lost";
    // Attempt 1 on spot-a (zone a); spot-b (zone b) waits cordoned, then takes attempt 2.
    await e.kubectl(["cordon", "spot-b"]);
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { checkpoint: { storage: bucketStorage(name) } })));
    await e.waitRun(name, "training past a bucket checkpoint", (r) => pastStep(120)(r) && (r.status?.lastCheckpoint?.step ?? 0) >= 50);
    const lostNode = (await currentPod(e, name)).spec!.nodeName!;
    assert.equal(lostNode, "spot-a");
    await e.kubectl(["uncordon", "spot-b"]);
    await e.kubectl(["annotate", "node", lostNode, "resumable.dev/fault=hard-loss"]);

    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    // The lost node stays lost until the run is done: attempt 2 did not wait for it.
    await e.kubectl(["annotate", "node", lostNode, "resumable.dev/fault-"]);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const second = run.status?.attempts?.find((a) => a.attempt === 2);
    assert.ok(second?.node, "attempt 2 ran on a node");
    assert.notEqual(second.node, lostNode);
    assert.notEqual(await zoneOf(e, second.node), await zoneOf(e, lostNode), `attempt 2 ran in another zone (${second.node})`);
    const pvcs = await e.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
    assert.deepEqual(pvcs.items.map((p) => p.metadata?.name), [], "no PVC for a run on a bucket");

    const [first, resumed] = assertResumeRecorded(e, run, { graceful: false });
    assert.equal(first!.summary, undefined, "the first trainer was killed, it wrote no summary");
    assertResumedFromNewestSave(first!, resumed!);
    await assertBitIdentical(run);
  });

  test("an unreachable bucket fails periodic saves visibly while training goes on, and saves resume when it returns", async () => {
    const name = "bucket-down";
    // Long enough that periodic saves fall due while the server is down and after it is back:
    // 700 steps of at least 50 ms each, a save every 50 steps.
    const training = { ...SMALL_TRAINING, totalSteps: 700, stepDelayMs: 50 };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { training, checkpoint: { storage: bucketStorage(name) } })));
    await e.waitRun(name, "a bucket checkpoint committed", (r) => r.status?.phase === "Running" && (r.status.lastCheckpoint?.step ?? 0) >= 50);

    await s3.stop({ keepData: true });
    let restarted = false;
    try {
      const failing = await e.waitRun(name, "CheckpointFailing", (r) => condition(r, "CheckpointFailing")?.status === "True", 3 * 60_000);
      assert.equal(failing.status?.phase, "Running", "the run keeps running while its saves fail");
      const stepWhenFailing = failing.status?.progress?.step ?? 0;
      const checkpointWhenFailing = failing.status?.lastCheckpoint?.step ?? 0;
      assert.match(condition(failing, "CheckpointFailing")?.message ?? "", /checkpoint save/);
      await eventually(`${name}: a CheckpointFailing Warning event`, async () =>
        (await eventsOf(name)).find((ev) => ev.type === "Warning" && ev.reason === "CheckpointFailing"));
      // Training goes on: steps past a whole save interval beyond where the failure was seen.
      const stillDown = await e.waitRun(name, "training on while the bucket is down", pastStep(stepWhenFailing + 60), 3 * 60_000);
      assert.equal(stillDown.status?.lastCheckpoint?.step, checkpointWhenFailing, "no checkpoint committed while the bucket is down");
      assert.ok((await trainerCheckpointFailures(name)) >= 1, "the trainer's checkpoint_failures_total counts the failed saves");

      s3 = await startS3Server({ bucket: s3.bucket, dataDir: s3.dataDir, s3Port: s3.s3Port, credentials: s3.credentials });
      restarted = true;
      const saved = await e.waitRun(
        name,
        "a save succeeding again",
        (r) => condition(r, "CheckpointFailing")?.status === "False" && (r.status?.lastCheckpoint?.step ?? 0) > checkpointWhenFailing,
        3 * 60_000,
      );
      assert.equal(condition(saved, "CheckpointFailing")?.reason, "SaveSucceeded");
      await eventually(`${name}: a CheckpointSaved event`, async () =>
        (await eventsOf(name)).find((ev) => ev.type === "Normal" && ev.reason === "CheckpointSaved"));
    } finally {
      if (!restarted) s3 = await startS3Server({ bucket: s3.bucket, dataDir: s3.dataDir, s3Port: s3.s3Port, credentials: s3.credentials });
    }

    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.attempt, 1, "one attempt: an unreachable bucket is not a reason to restart");
    assert.equal(run.status?.lostSteps ?? 0, 0);
    assert.equal(run.status?.lastCheckpoint?.reason, "final");
    assert.equal(run.status?.result?.weightsSha256, await twinWeightsSha256(training), "weights differ from the uninterrupted run");
  });

  test("refused credentials fail the run with the server's error code, without training from step 0 or retrying", async () => {
    const name = "bucket-badkey";
    await createKeySecret("s3-wrong-key", { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: "0".repeat(40) });
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { checkpoint: { storage: bucketStorage(name, "s3-wrong-key") } })));
    const run = await e.waitRun(name, "Failed", isPhase("Failed"), 5 * 60_000);
    const failed = condition(run, "Failed");
    assert.equal(failed?.reason, "StorageRefused", "a refused key is a storage refusal (exit 2), permanent, not a training config error");
    assert.match(failed?.message ?? "", /spec\.checkpoint\.storage/, "pointing at the storage settings");
    assert.match(failed?.message ?? "", /refused the credentials.*SignatureDoesNotMatch/, "the server's error code in the Failed condition");
    assert.equal(run.status?.attempts?.[0]?.exitCode, 2);
    assert.equal(run.status?.attempt, 1, "a refused key is not retried");
    const records = trainerAttempts(e, name);
    assert.equal(records.length, 1, "one trainer ran");
    assert.ok(!records[0]!.lines.some((l) => l.msg === "step"), "the trainer computed no step");
    assert.ok(!records[0]!.lines.some((l) => l.msg === "no valid checkpoint: starting fresh"), "the trainer did not start fresh");
  });

  test("a credentials Secret that does not exist: the pod waits on a FailedMount naming it, and nothing trains", async () => {
    const name = "bucket-nokey";
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { checkpoint: { storage: bucketStorage(name, "no-such-secret") } })));
    const event = await eventually(`${name}: a FailedMount event naming the secret`, async () => {
      const pod = (await e.runPods(name))[0]?.metadata?.name;
      if (!pod) return undefined;
      const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${pod}` });
      return events.items.find((ev) => ev.reason === "FailedMount" && /no-such-secret/.test(ev.message ?? ""));
    }, 3 * 60_000);
    assert.equal(event.type, "Warning");
    assert.deepEqual(trainerAttempts(e, name), [], "no trainer started, so none could start from step 0");
    // Not yet in the run's status: the operator sees a Pending pod ("attempt 1 is starting")
    // and does not read pod events, so the Secret is named only by the pod's FailedMount.
    const run = await e.getRun(name);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.notEqual(run.status?.phase, "Running");
  });
});
