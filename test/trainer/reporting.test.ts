/** What the operator reads while the trainer runs: the pod annotation and /metrics. */
import assert from "node:assert/strict";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { PROGRESS_ANNOTATION as progressAnnotation } from "@resumable/protocol";
import { pino } from "pino";
import { readEnv } from "../../trainer/src/config/env.js";
import { ProgressReporter } from "../../trainer/src/report/progress.js";
import { fakeApiServer } from "./helpers/fake-api-server.js";
import { startTrainer, tempDir, tinyConfig } from "./helpers/trainer-process.js";

test("progress: merge-patches the pod's annotation with step, loss and the last checkpoint", async () => {
  const api = await fakeApiServer(200);
  const dir = join(await tempDir(), "ckpt");
  const result = await (await startTrainer({ config: tinyConfig({ totalSteps: 40 }), checkpointDir: dir, attempt: 1, env: api.env })).done;
  api.close();
  assert.equal(result.code, 0, result.stderr);
  assert.ok(api.patches.length >= 1, "at least one report");
  for (const p of api.patches) {
    assert.equal(p.method, "PATCH");
    assert.equal(p.url, "/api/v1/namespaces/team-x/pods/run-a-1");
    assert.equal(p.headers["content-type"], "application/merge-patch+json");
    assert.equal(p.headers.authorization, "Bearer test-token");
  }
  const last = JSON.parse(api.patches.at(-1)!.body.metadata.annotations[progressAnnotation]!);
  assert.equal(last.step, 40);
  assert.equal(last.totalSteps, 40);
  assert.equal(last.checkpoint.step, 40);
  assert.equal(last.checkpoint.reason, "final");
  assert.ok(last.checkpoint.path.startsWith(join(dir, "ckpt-00000040")), `where it is (an object URL on a bucket): ${last.checkpoint.path}`);
  assert.equal(typeof last.loss, "number");
  assert.ok(!Number.isNaN(Date.parse(last.updatedAt)));
});

test("progress: a failing API server is logged and never stops training", async () => {
  const api = await fakeApiServer(500);
  const dir = join(await tempDir(), "ckpt");
  const result = await (await startTrainer({ config: tinyConfig({ totalSteps: 20 }), checkpointDir: dir, attempt: 1, env: api.env })).done;
  api.close();
  assert.equal(result.code, 0);
  assert.ok(result.lines.some((l) => l.msg?.startsWith("progress report failed")));
});

test("progress: the report at exit waits for one still in flight, then sends the newest", async () => {
  // The report right after a final commit can still be in flight when the trainer exits: the
  // exit's own report must not be skipped for it, or the pod keeps the older progress.
  const api = await fakeApiServer(200, { delayMs: 300 });
  const reporter = new ProgressReporter(readEnv({ ...process.env, ...api.env, RESUMABLE_CHECKPOINT_DIR: await tempDir() }), pino({ level: "silent" }));
  reporter.start();
  reporter.update({ step: 10, totalSteps: 20 });
  reporter.sendSoon();
  while (api.patches.length === 0) await new Promise((r) => setTimeout(r, 10));
  reporter.update({ step: 20, totalSteps: 20 });
  await reporter.stop();
  api.close();
  const steps = api.patches.map((p) => (JSON.parse(p.body.metadata.annotations[progressAnnotation]!) as { step: number }).step);
  assert.deepEqual(steps, [10, 20]);
});

test("progress: off, logged once, outside a pod or without a token", async () => {
  const result = await (await startTrainer({ config: tinyConfig({ totalSteps: 5 }), checkpointDir: join(await tempDir(), "ckpt"), attempt: 1 })).done;
  assert.equal(result.lines.filter((l) => l.msg?.startsWith("progress reports off")).length, 1);
  const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "1", RESUMABLE_POD_NAME: "p", RESUMABLE_POD_NAMESPACE: "n", RESUMABLE_SERVICEACCOUNT_DIR: await tempDir() };
  const noToken = await (await startTrainer({ config: tinyConfig({ totalSteps: 5 }), checkpointDir: join(await tempDir(), "ckpt"), attempt: 1, env })).done;
  assert.equal(noToken.code, 0);
  assert.equal(noToken.lines.filter((l) => l.msg?.startsWith("progress reports off: no service-account token")).length, 1);
  assert.ok(!noToken.lines.some((l) => l.msg?.startsWith("progress report failed")));
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const { port } = server.address() as AddressInfo;
  await new Promise((res) => server.close(res));
  return port;
}

test("/metrics serves step, loss, throughput and checkpoint metrics while training", async () => {
  const port = await freePort();
  const trainer = await startTrainer({
    config: tinyConfig({ totalSteps: 100000 }),
    checkpointDir: join(await tempDir(), "ckpt"),
    attempt: 1,
    env: { RESUMABLE_METRICS_PORT: String(port), RESUMABLE_POD_IP: "127.0.0.1" },
  });
  await trainer.waitFor((l) => l.msg === "checkpoint committed");
  await trainer.waitFor((l) => l.msg === "step" && (l.step as number) >= 40);
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  trainer.kill("SIGTERM");
  assert.equal((await trainer.done).code, 143);
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(body)?.[1]);
  assert.ok(value("resumable_trainer_step") >= 40);
  assert.ok(Number.isFinite(value("resumable_trainer_loss")));
  assert.ok(value("resumable_trainer_examples_per_second") > 0);
  assert.ok(value("resumable_trainer_last_checkpoint_step") >= 5);
  assert.ok(value("resumable_trainer_checkpoint_bytes") > 0);
  assert.ok(value("resumable_trainer_last_checkpoint_timestamp_seconds") > 1.7e9);
  assert.ok(value("resumable_trainer_checkpoint_duration_seconds_count") >= 1);
});

test("a metrics port already taken is logged and training goes on", async () => {
  const blocker = createNetServer();
  await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", res));
  const port = (blocker.address() as AddressInfo).port;
  const result = await (
    await startTrainer({
      config: tinyConfig({ totalSteps: 5 }),
      checkpointDir: join(await tempDir(), "ckpt"),
      attempt: 1,
      env: { RESUMABLE_METRICS_PORT: String(port), RESUMABLE_POD_IP: "127.0.0.1" },
    })
  ).done;
  blocker.close();
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.lines.some((l) => l.msg === "metrics server not started"));
});
