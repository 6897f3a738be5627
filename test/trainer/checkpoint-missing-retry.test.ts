// A checkpoint that was just listed but whose files briefly cannot be found (a flapping NFS or
// gcsfuse mount, a store whose reads lag its listing) is read again before it counts as
// corrupt: one that reads back complete is loaded, never quarantined.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { faultyReadIo } from "./helpers/faulty-io.js";
import { MemoryObjectStore } from "./helpers/memory-object-store.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

async function directoryWith(steps: number[]): Promise<string> {
  const dir = await tempDir();
  for (const step of steps) await store(dir, { keep: 10 }).save(fakeSnapshot(step), undefined);
  return dir;
}

for (const file of ["model.safetensors", "manifest.json"]) {
  test(`directory: ENOENT on a listed checkpoint's ${file} that clears within the retries loads it; nothing is quarantined`, async () => {
    const dir = await directoryWith([10, 20]);
    const { io, reads } = faultyReadIo((op, path, nth) => (op === "readRegularFile" && path.endsWith(`ckpt-00000020/${file}`) && nth < 2 ? "ENOENT" : undefined));
    const s = store(dir, { readIo: io });
    assert.equal((await s.loadNewestValid())?.manifest.step, 20);
    assert.deepEqual(await s.quarantined(), []);
    assert.equal(reads.get(join(dir, "ckpt-00000020", file)), 3, "read again until it was there");
  });
}

test("directory: ENOENT that outlasts the retries is a missing file: quarantined after the last retry, the previous one loads", async () => {
  const dir = await directoryWith([10, 20]);
  const { io, reads } = faultyReadIo((op, path) => (op === "readRegularFile" && path.endsWith("ckpt-00000020/model.safetensors") ? "ENOENT" : undefined));
  const s = store(dir, { readIo: io, readRetryDelaysMs: [0, 0] });
  assert.equal((await s.loadNewestValid())?.manifest.step, 10);
  assert.equal(reads.get(join(dir, "ckpt-00000020", "model.safetensors")), 3, "the first read and one per retry wait");
  assert.match((await s.quarantined())[0] ?? "", /^ckpt-00000020-/);
});

test("object store: a 404 on a just-listed checkpoint's file that clears within the retries loads it; nothing is quarantined", async () => {
  const objects: MemoryObjectStore = new MemoryObjectStore((call, key, nth) =>
    call === "get" && key === "ckpt-00000020/optimizer.safetensors" && nth < 2 ? objects.error("notFound", key, "NoSuchKey") : undefined,
  );
  const s = store("", { backend: new ObjectBackend(objects), keep: 10 });
  for (const step of [10, 20]) await s.save(fakeSnapshot(step), undefined);
  assert.equal((await s.loadNewestValid())?.manifest.step, 20);
  assert.deepEqual(await s.quarantined(), []);
  assert.deepEqual((await s.list()).map((c) => c.step), [20, 10], "both still where they were");
});
