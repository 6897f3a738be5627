/**
 * Fencing tokens: a zombie (an older attempt still running on a partitioned node) that stalls
 * between its fence check and its rename lands a checkpoint after its successor's claim. That
 * checkpoint is harmless: no loader takes it, retention does not count it, it cannot replace
 * the successor's checkpoint of the same step, and the zombie still gets FencedError (exit 3).
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Fence, FencedError } from "../../trainer/src/checkpoint/fence.js";
import { commitLogFile } from "../../trainer/src/checkpoint/store.js";
import { stallingCommitIo } from "./helpers/faulty-io.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

async function zombieLandsAfterClaim(opts: { zombieStep: number; successorStep?: number; keep?: number }) {
  const dir = await tempDir();
  const first = new Fence(dir, 1);
  const a1 = store(dir, { fence: first, keep: opts.keep ?? 3 });
  await a1.prepare();
  await a1.save(fakeSnapshot(10), 1);

  const stall = stallingCommitIo();
  const zombie = store(dir, { fence: first, io: stall.io, keep: opts.keep ?? 3 });
  const zombieSave = zombie.save(fakeSnapshot(opts.zombieStep), 1).then(() => undefined, (err: unknown) => err);
  await stall.stalled; // the zombie has passed its fence check

  // The successor claims (as its prepare does: newest step listed first) and the zombie's
  // rename lands before the successor's clean-up would have removed the zombie's temp dir.
  const second = new Fence(dir, 2);
  await second.claim(10);
  const a2 = store(dir, { fence: second, keep: opts.keep ?? 3 });
  if (opts.successorStep !== undefined) await a2.save(fakeSnapshot(opts.successorStep), 2);
  stall.release();
  const zombieError = await zombieSave;
  await a2.prepare();
  return { dir, zombieError, a2 };
}

test("a zombie's commit that lands after the successor's claim is ignored by the loader, and the zombie is fenced", async () => {
  const { dir, zombieError, a2 } = await zombieLandsAfterClaim({ zombieStep: 20 });
  assert.ok(zombieError instanceof FencedError, "the zombie still sees the fence (exit 3)");
  assert.ok((await readdir(dir)).includes("ckpt-00000020-a1"), "the late commit did land");
  assert.equal((await a2.loadNewestValid())?.manifest.step, 10, "the successor resumes from what it saw at its claim");
  assert.ok(!(await readdir(dir)).includes("quarantine"), "ignored, not quarantined");
});

test("a zombie cannot replace the successor's checkpoint of the same step", async () => {
  const { dir, a2 } = await zombieLandsAfterClaim({ zombieStep: 20, successorStep: 20 });
  const loaded = await a2.loadNewestValid();
  assert.equal(loaded?.path, join(dir, "ckpt-00000020-a2"));
  assert.equal(loaded?.manifest.attempt, 2);
  assert.ok((await readdir(dir)).includes("ckpt-00000020-a1"), "both exist side by side under attempt-qualified names");
});

test("retention never lets a zombie's late commit displace a valid checkpoint", async () => {
  const { dir, a2 } = await zombieLandsAfterClaim({ zombieStep: 20, keep: 1 });
  await a2.applyRetention();
  assert.ok((await readdir(dir)).includes("ckpt-00000010-a1"), "the only valid checkpoint is kept");
  assert.equal((await a2.loadNewestValid())?.manifest.step, 10);
});

test("claims record what each attempt saw and resumed from; the commit log names every commit, the zombie's marked", async () => {
  const { dir, zombieError, a2 } = await zombieLandsAfterClaim({ zombieStep: 20 });
  assert.ok(zombieError instanceof FencedError);
  const second = new Fence(dir, 2);
  await second.recordResume(10);
  assert.deepEqual(
    (await a2.claims()).map((c) => ({ attempt: c.attempt, newestStepAtClaim: c.newestStepAtClaim, resumedFromStep: c.resumedFromStep })),
    [
      { attempt: 1, newestStepAtClaim: null, resumedFromStep: null },
      { attempt: 2, newestStepAtClaim: 10, resumedFromStep: 10 },
    ],
  );
  const log = (await readFile(join(dir, commitLogFile), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(log.map((l) => [l.dir, l.attempt, l.fencedAfterRename]), [["ckpt-00000010-a1", 1, false], ["ckpt-00000020-a1", 1, true]]);
  const manifest = JSON.parse(await readFile(join(dir, "ckpt-00000020-a1", "manifest.json"), "utf8"));
  assert.equal(manifest.attempt, 1);
  assert.equal(manifest.claim.attempt, 1, "the manifest carries its writer's claim");
});

test("a successor that started fresh ignores every later commit of an older attempt", async () => {
  const dir = await tempDir();
  const second = new Fence(dir, 2);
  await store(dir, { fence: second }).prepare();
  // An attempt-1 checkpoint that appears after attempt 2 claimed an empty directory.
  await store(dir, { fence: undefined }).save(fakeSnapshot(30), 1);
  assert.equal(await store(dir).loadNewestValid(), undefined);
  assert.equal(await store(dir).resumePoint({ allowFreshStart: false }), undefined, "ignored is not unusable: a fresh start is right");
});

test("a fence file of the previous version (one attempt number) still fences and supersedes nothing", async () => {
  const dir = await tempDir();
  await store(dir).save(fakeSnapshot(10), 1);
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(dir, "fence"), "2\n");
  await assert.rejects(new Fence(dir, 1).check(), FencedError);
  assert.equal((await store(dir).loadNewestValid())?.manifest.step, 10);
});

test("a zombie whose temp dir the successor's start-up removed is told it is fenced, not that storage failed", async () => {
  const dir = await tempDir();
  const first = new Fence(dir, 1);
  await store(dir, { fence: first }).prepare();
  const stall = stallingCommitIo();
  const zombieSave = store(dir, { fence: first, io: stall.io }).save(fakeSnapshot(20), 1).then(() => undefined, (err: unknown) => err);
  await stall.stalled;
  await store(dir, { fence: new Fence(dir, 2) }).prepare();
  stall.release();
  assert.ok((await zombieSave) instanceof FencedError);
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith("ckpt-") || e.startsWith(".")), [], "nothing landed, no debris");
});
