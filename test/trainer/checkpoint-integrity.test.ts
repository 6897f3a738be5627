/**
 * Loading tells storage from content: an I/O error is retried and then reported (nothing
 * quarantined), content that fails verification is quarantined and the previous checkpoint
 * used, and checkpoints that exist but do not load stop the run instead of a silent step 0.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CheckpointsUnusableError, CorruptCheckpointError, StorageError } from "../../trainer/src/checkpoint/errors.js";
import { fsCommitIo } from "../../trainer/src/checkpoint/backends/directory/io.js";
import { manifestDigest, sealManifest } from "../../trainer/src/checkpoint/manifest.js";
import { encodeSafetensors } from "../../trainer/src/safetensors/format.js";
import { errnoError, faultyReadIo } from "./helpers/faulty-io.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

const noWait = [0, 0, 0];

async function withCheckpoints(steps: number[]): Promise<string> {
  const dir = await tempDir();
  const s = store(dir, { keep: 10 });
  for (const step of steps) await s.save(fakeSnapshot(step), undefined);
  return dir;
}

const ckpt = (dir: string, step: number) => join(dir, `ckpt-${String(step).padStart(8, "0")}`);

for (const code of ["EACCES", "EIO", "EMFILE"]) {
  test(`${code} reading the newest checkpoint is a StorageError naming path and errno after the retries; nothing is quarantined`, async () => {
    const dir = await withCheckpoints([10, 20]);
    const { io, reads } = faultyReadIo((op, path) => (path.endsWith("ckpt-00000020/model.safetensors") ? code : undefined));
    const s = store(dir, { readIo: io, readRetryDelaysMs: noWait });
    const err: unknown = await s.loadNewestValid().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.path, join(ckpt(dir, 20), "model.safetensors"));
    assert.equal(reads.get(err.path), 1 + noWait.length, "the first read and one per retry delay");
    assert.deepEqual((await store(dir).list()).map((c) => c.step), [20, 10], "both checkpoints are still there");
    assert.ok(!(await readdir(dir)).includes("quarantine"), "nothing quarantined");
  });
}

test("an I/O error that clears within the retries loads the newest checkpoint", async () => {
  const dir = await withCheckpoints([10, 20]);
  const { io } = faultyReadIo((op, path, nth) => (path.endsWith("manifest.json") && nth < 2 ? "EIO" : undefined));
  assert.equal((await store(dir, { readIo: io, readRetryDelaysMs: noWait }).loadNewestValid())?.manifest.step, 20);
});

test("EACCES listing the directory is a StorageError, not an empty directory (no start from 0)", async () => {
  const dir = await withCheckpoints([10]);
  const { io } = faultyReadIo((op) => (op === "readdir" ? "EACCES" : undefined));
  await assert.rejects(store(dir, { readIo: io, readRetryDelaysMs: noWait }).resumePoint({ allowFreshStart: false }), StorageError);
});

test("EIO deleting an old checkpoint in retention: the save stays committed, retention is a StorageError, the next save retries it", async () => {
  const dir = await tempDir();
  let failing = true;
  const io = { ...fsCommitIo, removeTree: async (path: string) => (failing ? Promise.reject(errnoError("EIO", path)) : fsCommitIo.removeTree(path)) };
  const s = store(dir, { keep: 1, io });
  await s.save(fakeSnapshot(10), undefined);
  const saved = await s.save(fakeSnapshot(20), undefined);
  assert.equal(saved.step, 20, "the save reports its commit");
  assert.deepEqual((await s.list()).map((c) => c.step), [20, 10], "nothing deleted, the new one committed");
  const err: unknown = await s.applyRetention().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
  assert.equal(err.code, "EIO");
  assert.equal(err.path, ckpt(dir, 10));
  failing = false;
  await s.save(fakeSnapshot(30), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [30], "the next save's retention deletes what the failed one left");
});

test("EIO reading a final checkpoint's manifest in retention skips the round: the final one is not deleted as \"not final\"", async () => {
  const dir = await tempDir();
  await store(dir, { keep: 1 }).save(fakeSnapshot(5, "final"), undefined);
  const { io } = faultyReadIo((op, path) => (path === join(ckpt(dir, 5), "manifest.json") ? "EIO" : undefined));
  const s = store(dir, { keep: 1, readIo: io, readRetryDelaysMs: noWait });
  await s.save(fakeSnapshot(10), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [10, 5], "the save committed and deleted nothing");
  const err: unknown = await s.applyRetention().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
  assert.equal(err.code, "EIO");
  await store(dir, { keep: 1 }).save(fakeSnapshot(15), undefined);
  assert.deepEqual((await store(dir).list()).map((c) => c.step), [15, 5], "readable again: the final one is kept beyond keep");
});

test("a final checkpoint's manifest that is briefly not there in retention (a flapping mount): the final one is kept, not deleted as \"not final\"", async () => {
  const dir = await tempDir();
  await store(dir, { keep: 1 }).save(fakeSnapshot(5, "final"), undefined);
  // The listing still shows ckpt 5, but its manifest reads as absent: ENOENT, as a mount that blinks answers.
  const { io } = faultyReadIo((op, path) => (path === join(ckpt(dir, 5), "manifest.json") ? "ENOENT" : undefined));
  const s = store(dir, { keep: 1, readIo: io, readRetryDelaysMs: noWait });
  await s.save(fakeSnapshot(10), undefined);
  await s.applyRetention();
  assert.deepEqual((await s.list()).map((c) => c.step), [10, 5], "a manifest that is not there says nothing about the kind: kept");
  await store(dir, { keep: 1 }).save(fakeSnapshot(15), undefined);
  assert.deepEqual((await store(dir).list()).map((c) => c.step), [15, 5], "readable again: the final one is still the one kept beyond keep");
});

const swaps: [string, (file: string) => Promise<void>][] = [
  ["a symlink (to a valid copy) in place of the weights", async (file) => {
    await writeFile(`${file}.real`, await readFile(file));
    await rm(file);
    await symlink(`${file}.real`, file);
  }],
  ["a FIFO in place of the weights", async (file) => {
    await rm(file);
    execFileSync("mkfifo", [file]);
  }],
  ["a directory in place of the weights", async (file) => {
    await rm(file);
    await mkdir(file);
  }],
];

for (const [what, swap] of swaps) {
  test(`${what} is corrupt (not followed, not blocked on): quarantined, the previous one loads`, async () => {
    const dir = await withCheckpoints([10, 20]);
    await swap(join(ckpt(dir, 20), "model.safetensors"));
    const loaded = await store(dir).loadNewestValid();
    assert.equal(loaded?.manifest.step, 10);
    assert.equal((await readdir(join(dir, "quarantine"))).length, 1);
  });
}

test("checkpoints exist but none loads: refused with CheckpointsUnusableError, also on the next start; allowed only explicitly", async () => {
  const dir = await withCheckpoints([10, 20]);
  for (const step of [10, 20]) await writeFile(join(ckpt(dir, step), "model.safetensors"), "garbage");
  await assert.rejects(store(dir).resumePoint({ allowFreshStart: false }), CheckpointsUnusableError);
  assert.equal((await readdir(join(dir, "quarantine"))).length, 2, "both set aside, none deleted");
  await assert.rejects(store(dir).resumePoint({ allowFreshStart: false }), /checkpoints exist but none loads .*refusing to start from step 0/);
  assert.equal(await store(dir).resumePoint({ allowFreshStart: true }), undefined);
});

test("an empty directory starts fresh without refusal", async () => {
  const dir = await tempDir();
  assert.equal(await store(dir).resumePoint({ allowFreshStart: false }), undefined);
});

async function editManifest(dir: string, step: number, edit: (m: Record<string, unknown>) => void, reseal: boolean): Promise<void> {
  const path = join(ckpt(dir, step), "manifest.json");
  const manifest = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  edit(manifest);
  await writeFile(path, JSON.stringify(reseal ? sealManifest(manifest as never) : manifest));
}

const manifestFaults: [string, (m: Record<string, unknown>) => void, boolean][] = [
  ["a flipped step (digest mismatch)", (m) => (m.step = 21), false],
  ["a flipped prngState (digest mismatch)", (m) => ((m.prngState as number[])[0] = 9), false],
  ["a resealed step that differs from the directory name", (m) => (m.step = 30), true],
  ["a resealed createdAt that is not an ISO timestamp", (m) => (m.createdAt = "2026-13-99Txx"), true],
  ["a resealed negative epoch", (m) => (m.epoch = -1), true],
  ["a resealed unknown field", (m) => (m.extra = 1), true],
];

for (const [what, edit, reseal] of manifestFaults) {
  test(`a manifest with ${what} is corrupt: quarantined, the previous checkpoint loads`, async () => {
    const dir = await withCheckpoints([10, 20]);
    await editManifest(dir, 20, edit, reseal);
    await assert.rejects(store(dir).load(ckpt(dir, 20)), CorruptCheckpointError);
    assert.equal((await store(dir).loadNewestValid())?.manifest.step, 10);
  });
}

test("weights whose safetensors metadata names another step are corrupt", async () => {
  const dir = await withCheckpoints([10, 20]);
  const other = Buffer.concat(encodeSafetensors(fakeSnapshot(20).weights, { format: "pt", step: "19" }));
  await writeFile(join(ckpt(dir, 20), "model.safetensors"), other);
  await editManifest(dir, 20, (m) => {
    const files = m.files as Record<string, { sha256: string; bytes: number }>;
    files["model.safetensors"] = { sha256: createHash("sha256").update(other).digest("hex"), bytes: other.byteLength };
  }, true);
  await assert.rejects(store(dir).load(ckpt(dir, 20)), /model.safetensors is of step 19, the manifest says 20/);
});

test("a checkpoint written by the previous version (formatVersion 1, no digest) still loads", async () => {
  const dir = await withCheckpoints([10]);
  await editManifest(dir, 10, (m) => {
    m.formatVersion = 1;
    delete m.digest;
    delete m.claim;
  }, false);
  const loaded = await store(dir).load(ckpt(dir, 10));
  assert.equal(loaded.manifest.step, 10);
  assert.equal(loaded.manifest.formatVersion, 1);
});

test("the digest covers every field: changing any one changes it", () => {
  const sealed = sealManifest({ ...fakeSnapshot(5).meta, formatVersion: 2, createdAt: new Date(0).toISOString(), attempt: 1, claim: null, files: {} });
  for (const key of Object.keys(sealed).filter((k) => k !== "digest")) {
    const changed = { ...sealed, [key]: "changed" };
    assert.notEqual(manifestDigest(changed as never), sealed.digest, key);
  }
});

test("a restore that rejects a checkpoint's content quarantines it and tries the previous one", async () => {
  const dir = await withCheckpoints([10, 20]);
  const tried: number[] = [];
  const loaded = await store(dir).loadNewestValid(async (c) => {
    tried.push(c.manifest.step);
    if (c.manifest.step === 20) throw new CorruptCheckpointError("model weights do not match the model");
  });
  assert.deepEqual(tried, [20, 10]);
  assert.equal(loaded?.manifest.step, 10);
  assert.match((await readdir(join(dir, "quarantine")))[0]!, /^ckpt-00000020-/);
});
