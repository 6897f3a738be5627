// The trainer process pointed at a bucket (RESUMABLE_CHECKPOINT_URL) on the real S3 server
// process: it checkpoints there, a second attempt resumes from the bucket alone, and refused
// credentials end the run as a config failure with the server's words, never a fresh start.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { S3ObjectStore } from "../../trainer/src/checkpoint/backends/object/s3.js";
import { SaveThread } from "../../trainer/src/checkpoint/save-thread/thread.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { recordsFromLines as recordsOf } from "../e2e/trainer-records.js";
import { startS3Server, storeLocation, type S3Server } from "../s3/server.js";
import { largeSnapshot, stepsUntil } from "./helpers/busy-steps.js";
import { silentLog, store } from "./helpers/snapshots.js";
import { runToEnd, startTrainer, tempDir, tinyConfig } from "./helpers/trainer-process.js";

let server: S3Server;
before(async () => {
  server = await startS3Server({ bucket: "runs" });
});
after(async () => {
  await server?.stop();
});

function bucketEnv(prefix: string): Record<string, string> {
  return {
    RESUMABLE_CHECKPOINT_URL: `s3://${server.bucket}/${prefix}`,
    RESUMABLE_S3_ENDPOINT: server.endpoint,
    RESUMABLE_S3_REGION: server.region,
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
    // No credentials lookup may leave the loopback.
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

test("a trainer preempted while checkpointing to a bucket resumes from the bucket in a new process, bit-identical to an uninterrupted twin", async () => {
  // A periodic checkpoint every 5 steps. Steps of 50 ms: the run must still be going when the
  // SIGTERM sent after the first commit arrives (tiny steps ended all 40 first under load).
  const config = tinyConfig({ totalSteps: 40, stepDelayMs: 50 });
  const twin = await runToEnd({ config, checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(twin.code, 0, twin.stderr);

  const scratch = join(await tempDir(), "unused"); // only the termination log lives here
  const first = await startTrainer({ config, checkpointDir: scratch, attempt: 1, env: { ...bucketEnv("team/run-a"), RESUMABLE_CHECKPOINT_DIR: "" } });
  await first.waitFor((l) => l.msg === "checkpoint committed");
  first.kill("SIGTERM");
  const preempted = await first.done;
  assert.equal(preempted.code, 143, preempted.stderr);
  const saved = preempted.summary!.checkpoint as { step: number; path: string };
  assert.match(saved.path, new RegExp(`^s3://${server.bucket}/team/run-a/ckpt-\\d{8}-a1$`), "the summary names the object URL");

  const second = await runToEnd({ config, checkpointDir: scratch, attempt: 2, env: { ...bucketEnv("team/run-a"), RESUMABLE_CHECKPOINT_DIR: "" } });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.summary!.resumedFromStep, saved.step, "resumed from the newest checkpoint in the bucket");
  assert.ok((second.summary!.resumedFromStep as number) > 0);
  assert.equal(second.summary!.weightsSha256, twin.summary!.weightsSha256, "bit-identical to the uninterrupted twin");

  const objects = S3ObjectStore.create(storeLocation(server, "team/run-a"));
  const s = store("", { backend: new ObjectBackend(objects), log: silentLog });
  assert.deepEqual((await s.claims()).map((c) => [c.attempt, c.resumedFromStep]), [[1, null], [2, saved.step]], "the fence in the bucket records both attempts");
  assert.ok((await objects.head("model/model.json")) !== undefined, "the exported model is in the bucket too");
  objects.close();
});

test("credentials the server refuses (from a mounted secret) end the run as a storage refusal (exit 2) with the server's message, nothing written", async () => {
  const secret = join(await tempDir(), "secret");
  await mkdir(secret);
  await writeFile(join(secret, "AWS_ACCESS_KEY_ID"), server.credentials.accessKeyId);
  await writeFile(join(secret, "AWS_SECRET_ACCESS_KEY"), "not-the-secret");
  const env = { ...bucketEnv("team/run-b"), RESUMABLE_S3_CREDENTIALS_DIR: secret, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
  const result = await runToEnd({ config: tinyConfig({ totalSteps: 10 }), checkpointDir: join(await tempDir(), "unused"), attempt: 1, env });
  assert.equal(result.code, 2, `exit 2 (config), got ${result.code}: ${result.stderr.slice(-500)}`);
  const failure = result.summary!.failure as { kind: string; message: string };
  assert.equal(failure.kind, "storageRefused");
  assert.match(failure.message, /SignatureDoesNotMatch/);
  assert.match(failure.message, new RegExp(`s3://${server.bucket}/team/run-b`));
  assert.equal(result.summary!.step, null, "not a single step: no silent fresh start");
  const objects = S3ObjectStore.create(storeLocation(server, "team/run-b"));
  const written: string[] = [];
  for await (const o of objects.list("")) written.push(o.key);
  objects.close();
  assert.deepEqual(written, [], "nothing written under the run's prefix");
});

test('everySteps: "auto" on a bucket: a SIGKILL loses no more than the interval the trainer reported, and the resume from the bucket is bit-identical', async () => {
  // 20 ms steps and a 1 s lost-work goal: an interval of a few tens of steps on this server.
  const config = tinyConfig({ totalSteps: 300, stepDelayMs: 20, checkpoint: { everySteps: "auto", maxLostSeconds: 1, keep: 3 } });
  const twin = await runToEnd({ config, checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 });
  assert.equal(twin.code, 0, twin.stderr);

  const env = { ...bucketEnv("team/run-auto"), RESUMABLE_CHECKPOINT_DIR: "" };
  const scratch = join(await tempDir(), "unused");
  const first = await startTrainer({ config, checkpointDir: scratch, attempt: 1, env });
  // Two commits under the chosen interval: the loss lands mid-interval, past a bucket save.
  const chosenAt = (await first.waitFor((l) => l.msg === "checkpoint interval chosen")).step ?? 0;
  let seen = 0;
  await first.waitFor((l) => l.msg === "checkpoint committed" && (l.step ?? 0) > chosenAt && ++seen === 2);
  first.kill("SIGKILL"); // no SIGTERM, no flush: a node powered off
  const killed = await first.done;
  assert.equal(killed.signal, "SIGKILL");
  assert.equal(killed.summary, undefined, "a killed trainer writes no summary");

  const second = await runToEnd({ config, checkpointDir: scratch, attempt: 2, env });
  assert.equal(second.code, 0, second.stderr);
  const before = recordsOf(killed.lines);
  const after = recordsOf(second.lines);
  const chosen = killed.lines.filter((l) => l.msg === "checkpoint interval chosen");
  const promised = Math.max(...chosen.map((l) => Number(l.lostSteps)));
  const lost = before.reachedStep - after.resumedFromStep;
  assert.ok(lost <= promised, `lost ${lost} steps by the trainers' records (reached ${before.reachedStep}, resumed from ${after.resumedFromStep}); the trainer reported at most ${promised}`);
  const commits = killed.lines.filter((l) => l.msg === "checkpoint committed");
  for (const c of commits) assert.match(String(c.checkpoint), new RegExp(`^s3://${server.bucket}/team/run-auto/`), "every save went to the bucket");
  const committed = commits.map((l) => Number(l.step));
  assert.equal(after.resumedFromStep, Math.max(...committed), "resumed from the newest checkpoint the first trainer committed to the bucket");
  assert.equal(second.summary!.resumedFromStep, after.resumedFromStep, "the summary agrees with the step log");
  assert.equal(second.summary!.weightsSha256, twin.summary!.weightsSha256, "bit-identical to the uninterrupted twin");
});

test("a save to a bucket on the save thread spans a few steps of a loop that yields once per step, not one per request", async () => {
  const mib = 16;
  // Steps of 300 ms: the server's own time for the bytes (it hashes and stores every part) then
  // spans few steps, while the training thread's save still waits a step per request and slice.
  const stepMs = 300;
  const secret = join(await tempDir(), "secret");
  await mkdir(secret);
  await writeFile(join(secret, "AWS_ACCESS_KEY_ID"), server.credentials.accessKeyId);
  await writeFile(join(secret, "AWS_SECRET_ACCESS_KEY"), server.credentials.secretAccessKey);
  const here = store("", { backend: new ObjectBackend(S3ObjectStore.create(storeLocation(server, "team/run-here"))), log: silentLog });
  // On the training thread, each part, slice hashed and request waits for a step boundary.
  const onTrainingThread = await stepsUntil(here.save(largeSnapshot(1, mib), undefined), stepMs);
  const env = readEnv({ ...bucketEnv("team/run-there"), RESUMABLE_S3_CREDENTIALS_DIR: secret });
  const thread = new SaveThread({ env, keep: 3, logBindings: {}, logLevel: "silent" }, `s3://${server.bucket}/team/run-there`);
  try {
    await thread.ready; // the thread's start-up is once per process, not per save: the trainer waits for it before training
    const onSaveThread = await stepsUntil(thread.save(largeSnapshot(2, mib), undefined), stepMs);
    console.log(`a ${mib} MiB save to the bucket spanned ${onTrainingThread} steps on the training thread, ${onSaveThread} on the save thread`);
    assert.ok(onSaveThread <= onTrainingThread / 4, `the save thread's save spanned ${onSaveThread} steps, the training thread's ${onTrainingThread}`);
    const there = store("", { backend: new ObjectBackend(S3ObjectStore.create(storeLocation(server, "team/run-there"))), log: silentLog });
    assert.equal((await there.loadNewestValid())?.manifest.step, 2, "what the save thread committed loads");
  } finally {
    await thread.close();
  }
});
