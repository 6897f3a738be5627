// Quarantine in an object store cannot depend on CopyObject: S3 refuses to copy an object over
// 5 GiB in one request. A corrupt checkpoint that big is marked quarantined where it is: the
// loader goes on to the previous checkpoint, and no later start meets it again (no exit-4 loop).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectBackend, quarantinedMarker } from "../../trainer/src/checkpoint/backends/object/object.js";
import { MemoryObjectStore, type Fault } from "./helpers/memory-object-store.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";

const weights = "ckpt-00000020/model.safetensors";

/** Checkpoints 10 and 20 in memory, 20's weights corrupt (one flipped byte). */
async function withCorruptNewest(fault?: Fault): Promise<MemoryObjectStore> {
  const objects = new MemoryObjectStore(fault);
  const s = store("", { backend: new ObjectBackend(objects), keep: 10 });
  for (const step of [10, 20]) await s.save(fakeSnapshot(step), undefined);
  const bytes = Buffer.from(objects.objects.get(weights)!);
  bytes[bytes.length - 1]! ^= 0xff;
  objects.objects.set(weights, bytes);
  return objects;
}

async function assertMarkedAndSkipped(objects: MemoryObjectStore): Promise<void> {
  for (const start of [1, 2, 3]) {
    const s = store("", { backend: new ObjectBackend(objects) });
    const loaded = await s.resumePoint({ allowFreshStart: false });
    assert.equal(loaded?.manifest.step, 10, `start ${start}: the previous checkpoint`);
    assert.deepEqual((await s.list()).map((c) => c.step), [10], `start ${start}: the quarantined one is not offered again`);
    assert.equal((await s.quarantined()).length, 1, `start ${start}: one checkpoint in quarantine`);
  }
  assert.ok(objects.objects.has(weights), "set aside, never deleted");
  assert.ok(objects.objects.has(`ckpt-00000020/${quarantinedMarker}`), "marked where it is");
  const note = [...objects.objects.keys()].find((k) => k.startsWith("quarantine/ckpt-00000020-") && k.endsWith(quarantinedMarker));
  assert.ok(note, "a note under quarantine/ names it");
  assert.match(objects.objects.get(note)!.toString(), /ckpt-00000020/);
}

test("a corrupt checkpoint with an object over the copy limit is marked quarantined in place, never copied; the previous one loads at every start", async () => {
  let copies = 0;
  const objects = await withCorruptNewest((call) => {
    if (call === "copy") copies++;
    return undefined;
  });
  objects.listedSizes.set(weights, 6 * 1024 ** 3); // as S3 would list a 6 GiB file
  await assertMarkedAndSkipped(objects);
  assert.equal(copies, 0, "no copy was tried");
});

test("a store that refuses the copy as too large (S3: InvalidRequest, copy source over 5 GiB) gets the same: marked in place, not an I/O error on every start", async () => {
  const objects = await withCorruptNewest((call, key) =>
    call === "copy" && key === weights ? objects.error("tooLarge", key, "InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120") : undefined,
  );
  await assertMarkedAndSkipped(objects);
});

test("a corrupt checkpoint within the copy limit is still copied under quarantine/ and removed", async () => {
  const objects = await withCorruptNewest();
  const s = store("", { backend: new ObjectBackend(objects) });
  assert.equal((await s.loadNewestValid())?.manifest.step, 10);
  assert.ok(![...objects.objects.keys()].some((k) => k.startsWith("ckpt-00000020/")), "moved away");
  assert.ok([...objects.objects.keys()].some((k) => /^quarantine\/ckpt-00000020-\d+\/model\.safetensors$/.test(k)));
});
