/** A checkpoint request (a reclaim notice) through the projected file: saved early, training goes on. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { CheckpointRequests } from "../../trainer/src/signals/checkpoint-request.js";
import { startTrainer, tempDir, tinyConfig, type LogLine } from "./helpers/trainer-process.js";

/** A trainer that stops reacting fails the test instead of hanging the suite (not a duration goal). */
const HANG_GUARD = { timeout: 5 * 60_000 };

const silent = pino({ level: "silent" });

/**
 * Writes `value` the way the kubelet's AtomicWriter updates a projected volume: a new
 * timestamped dir, then `..data` swapped to it by rename, the file a symlink through `..data`.
 */
async function project(volume: string, file: string, value: string): Promise<void> {
  await mkdir(volume, { recursive: true });
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  await mkdir(join(volume, version));
  await writeFile(join(volume, version, file), value);
  await symlink(version, join(volume, "..data_tmp"));
  await rename(join(volume, "..data_tmp"), join(volume, "..data"));
  if (!existsSync(join(volume, file))) await symlink(join("..data", file), join(volume, file));
}

const request = (id: string) => JSON.stringify({ id, reason: "aws-node-termination-handler/spot-itn on spot-a", at: new Date().toISOString() });

test("a request is pending once per id, however often its file is re-projected", async () => {
  const volume = await tempDir("request-vol-");
  const requests = new CheckpointRequests(join(volume, "checkpoint-request"), silent);
  await requests.poll();
  assert.equal(requests.pending, undefined, "no file: nothing asked");
  await project(volume, "checkpoint-request", "");
  await requests.poll();
  assert.equal(requests.pending, undefined, "an empty file (no annotation) asks nothing");
  await project(volume, "checkpoint-request", request("notice-1"));
  await requests.poll();
  assert.equal(requests.take()?.id, "notice-1");
  assert.equal(requests.pending, undefined, "taken");
  await project(volume, "checkpoint-request", request("notice-1"));
  await requests.poll();
  assert.equal(requests.pending, undefined, "the same id again (a re-projection) is not a new request");
  await project(volume, "checkpoint-request", request("notice-2"));
  await requests.poll();
  assert.equal(requests.take()?.id, "notice-2", "a new notice is a new request");
});

test("a projected update is taken through the volume directory's watch, not at the next timer tick", HANG_GUARD, async () => {
  const volume = await tempDir("request-vol-");
  await project(volume, "checkpoint-request", "");
  // A timer that never ticks again after start's first look: only the watch can see the update.
  const requests = new CheckpointRequests(join(volume, "checkpoint-request"), silent, 3_600_000);
  requests.start();
  try {
    await new Promise((r) => setTimeout(r, 50)); // start's first look (an empty file) is done
    assert.equal(requests.pending, undefined);
    await project(volume, "checkpoint-request", request("watched"));
    while (requests.pending === undefined) await new Promise((r) => setTimeout(r, 10));
    assert.equal(requests.take()?.id, "watched");
  } finally {
    requests.stop();
  }
});

test("without the volume directory the timer alone looks, and a directory made later is still read", HANG_GUARD, async () => {
  const volume = join(await tempDir("request-vol-"), "not-yet");
  const requests = new CheckpointRequests(join(volume, "checkpoint-request"), silent, 20);
  requests.start(); // no directory to watch: no throw, no warning
  try {
    await project(volume, "checkpoint-request", request("late"));
    while (requests.pending === undefined) await new Promise((r) => setTimeout(r, 10));
    assert.equal(requests.take()?.id, "late");
  } finally {
    requests.stop();
  }
});

test("a malformed request is ignored and named; a valid one after it is taken", async () => {
  const volume = await tempDir("request-vol-");
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
  const requests = new CheckpointRequests(join(volume, "checkpoint-request"), log);
  await project(volume, "checkpoint-request", '{"id": ""}');
  await requests.poll();
  assert.equal(requests.pending, undefined);
  assert.ok(lines.some((l) => l.includes("ignoring a malformed checkpoint request") && l.includes("id:")), lines.join(""));
  await project(volume, "checkpoint-request", request("notice-3"));
  await requests.poll();
  assert.equal(requests.take()?.id, "notice-3");
});

async function checkpointSteps(dir: string): Promise<number[]> {
  return (await readdir(dir)).flatMap((n) => /^ckpt-(\d+)(-a\d+)?$/.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

/**
 * The trainer with no periodic saves and slow steps: a request is the only way a checkpoint
 * appears before the end. Returns the process, its checkpoint dir and the early checkpoint line.
 */
async function trainAndRequest() {
  const root = await tempDir();
  const volume = join(root, "requests");
  const dir = join(root, "ckpt");
  await project(volume, "checkpoint-request", "");
  const trainer = await startTrainer({
    config: tinyConfig({ totalSteps: 400, stepDelayMs: 50, checkpoint: { everySteps: 0, everySeconds: 0, keep: 3 } }),
    checkpointDir: dir,
    attempt: 1,
    env: { RESUMABLE_CHECKPOINT_REQUEST_FILE: join(volume, "checkpoint-request") },
  });
  await trainer.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= 5);
  await project(volume, "checkpoint-request", request("spot-itn-1"));
  const early: LogLine = await trainer.waitFor((l) => l.msg === "early checkpoint committed on request");
  return { trainer, dir, early };
}

test("on a request the trainer commits a checkpoint at the next step boundary and keeps training", HANG_GUARD, async () => {
  const { trainer, dir, early } = await trainAndRequest();
  assert.equal(early.requestId, "spot-itn-1");
  const step = early.step as number;
  assert.ok(step > 5, `saved after the request (step ${step})`);
  await trainer.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= step + 3);
  trainer.kill("SIGTERM");
  const result = await trainer.done;
  assert.equal(result.code, 143, result.stderr);
  const steps = await checkpointSteps(dir);
  assert.ok(steps.includes(step), `the early checkpoint is on disk (${steps.join(",")})`);
  assert.ok(steps.at(-1)! >= step + 3, "the final flush added the steps trained since");
  const manifest = JSON.parse(await readFile(join(dir, `ckpt-${String(step).padStart(8, "0")}-a1`, "manifest.json"), "utf8")) as { kind: string; step: number };
  assert.deepEqual([manifest.kind, manifest.step], ["periodic", step], "the normal commit path, not the final one");
  assert.equal(result.lines.filter((l) => l.msg === "early checkpoint committed on request").length, 1, "one save per request");
});

test("a SIGKILL after the early checkpoint still finds it committed and loadable", HANG_GUARD, async () => {
  const { trainer, dir, early } = await trainAndRequest();
  trainer.kill("SIGKILL");
  await trainer.done;
  assert.deepEqual(await checkpointSteps(dir), [early.step], "the early checkpoint is all there is, committed");
  const resumed = await startTrainer({ config: tinyConfig({ totalSteps: (early.step as number) + 2 }), checkpointDir: dir, attempt: 2 });
  const line = await resumed.waitFor((l) => l.msg === "resuming from checkpoint");
  assert.equal(line.step, early.step);
  assert.equal((await resumed.done).code, 0);
});
