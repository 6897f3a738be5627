import assert from "node:assert/strict";
import { appendFile, mkdir, readdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Fence, FencedError } from "../../trainer/src/checkpoint/fence.js";
import { sealManifest } from "../../trainer/src/checkpoint/manifest.js";
import { CorruptCheckpointError } from "../../trainer/src/checkpoint/store.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

async function withCheckpoints(steps: number[]): Promise<string> {
  const dir = await tempDir();
  const s = store(dir, { keep: 10 });
  for (const step of steps) await s.save(fakeSnapshot(step), undefined);
  return dir;
}

const corruptions: [string, (ckpt: string) => Promise<void>][] = [
  ["a truncated weights file", (c) => truncate(join(c, "model.safetensors"), 30)],
  ["a flipped byte in the weights", async (c) => {
    const bytes = await readFile(join(c, "model.safetensors"));
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(join(c, "model.safetensors"), bytes);
  }],
  ["no manifest", (c) => writeFile(join(c, "manifest.json"), "")],
  ["a manifest that is not JSON", (c) => appendFile(join(c, "manifest.json"), "}")],
  ["a missing optimizer file", async (c) => {
    const { rm } = await import("node:fs/promises");
    await rm(join(c, "optimizer.safetensors"));
  }],
];

for (const [what, corrupt] of corruptions) {
  test(`a newest checkpoint with ${what} is quarantined and the previous one loaded`, async () => {
    const dir = await withCheckpoints([10, 20]);
    await corrupt(join(dir, "ckpt-00000020"));
    const s = store(dir);
    await assert.rejects(s.load(join(dir, "ckpt-00000020")), CorruptCheckpointError);
    const loaded = await s.loadNewestValid();
    assert.equal(loaded?.manifest.step, 10);
    assert.deepEqual((await s.list()).map((c) => c.step), [10]);
    const quarantined = await readdir(join(dir, "quarantine"));
    assert.equal(quarantined.length, 1);
    assert.match(quarantined[0]!, /^ckpt-00000020-/);
  });
}

test("a manifest naming a file outside the checkpoint is corrupt, not followed", async () => {
  const dir = await withCheckpoints([10]);
  const path = join(dir, "ckpt-00000010", "manifest.json");
  const manifest = JSON.parse(await readFile(path, "utf8"));
  manifest.files["../fence"] = { sha256: "0".repeat(64), bytes: 1 };
  // Resealed: the digest would catch the edit first; this proves the file-name check itself.
  await writeFile(path, JSON.stringify(sealManifest(manifest)));
  await assert.rejects(store(dir).load(join(dir, "ckpt-00000010")), /unsafe file/);
});

test("no checkpoint at all: loadNewestValid returns nothing", async () => {
  const dir = await tempDir();
  const s = store(dir);
  await s.prepare();
  assert.equal(await s.loadNewestValid(), undefined);
});

test("retention keeps the last `keep` plus the newest final one, deleting only after a newer commit", async () => {
  const dir = await tempDir();
  const s = store(dir, { keep: 2 });
  await s.save(fakeSnapshot(5, "final"), undefined);
  await s.save(fakeSnapshot(10), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [10, 5]);
  await s.save(fakeSnapshot(15), undefined);
  await s.save(fakeSnapshot(20), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [20, 15, 5], "the final one is kept beyond keep");
  await s.save(fakeSnapshot(25, "final"), undefined);
  await s.save(fakeSnapshot(30), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [30, 25], "only the newest final one is kept");
});

test("prepare removes temp dirs left by a crash and leaves everything else", async () => {
  const dir = await withCheckpoints([10]);
  await mkdir(join(dir, ".tmp-ckpt-00000020-1-2"));
  await writeFile(join(dir, ".tmp-ckpt-00000020-1-2", "model.safetensors"), "partial");
  await store(dir).prepare();
  assert.deepEqual((await readdir(dir)).sort(), ["ckpt-00000010", "commits.log"]);
});

test("fence: a newer attempt's claim makes an older one refuse to commit; the same attempt may go on", async () => {
  const dir = await tempDir();
  const first = new Fence(dir, 1);
  await store(dir, { fence: first }).prepare();
  await store(dir, { fence: first }).save(fakeSnapshot(10), 1);

  const second = new Fence(dir, 2);
  await store(dir, { fence: second }).prepare();
  assert.deepEqual((await first.claims()).map((c) => [c.attempt, c.newestStepAtClaim]), [[1, null], [2, 10]], "each claim records the newest step it saw");

  await assert.rejects(store(dir, { fence: first }).save(fakeSnapshot(20), 1), FencedError);
  assert.deepEqual((await store(dir).list()).map((c) => c.step), [10], "the zombie committed nothing");
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith(".tmp-")), [], "and left no temp dir");
  await assert.rejects(store(dir, { fence: first }).prepare(), FencedError, "an older attempt cannot claim again");

  await store(dir, { fence: new Fence(dir, 2) }).prepare(); // a restarted container of attempt 2
  await store(dir, { fence: second }).save(fakeSnapshot(20), 2);
  assert.deepEqual((await store(dir).list()).map((c) => c.step), [20, 10]);
});
