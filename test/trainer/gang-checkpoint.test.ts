/**
 * A gang's checkpoint is committed only when every rank's part agrees with rank 0's weights,
 * and loaded only when its parts are all there, of its step and of the weights loaded: nothing
 * wrong is ever loaded. A bad one is quarantined and the previous checkpoint loads instead.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { DirectoryBackend } from "../../trainer/src/checkpoint/backends/directory/directory.js";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { CorruptCheckpointError } from "../../trainer/src/checkpoint/errors.js";
import { encodeGangRecord, gangFile, GangDisagreementError, type GangRecord } from "../../trainer/src/checkpoint/gang.js";
import { checkpointDirName } from "../../trainer/src/checkpoint/layout.js";
import { formatVersion, manifestName, modelFile, optimizerFile, sealManifest } from "../../trainer/src/checkpoint/manifest.js";
import type { TrainingSnapshot } from "../../trainer/src/checkpoint/snapshot.js";
import { encodeSafetensors } from "../../trainer/src/safetensors/format.js";
import { MemoryObjectStore } from "./helpers/memory-object-store.js";
import { gangSnapshot, silentLog, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

const otherDigest = "0".repeat(64);

/** What a save would refuse, each a spoiled copy of a good gang's parts. */
const spoiled: { what: string; spoil: (record: GangRecord) => void }[] = [
  { what: "a missing part", spoil: (r) => void r.parts.pop() },
  { what: "a part of another step", spoil: (r) => void (r.parts[1]!.step -= 1) },
  { what: "a part whose digest differs", spoil: (r) => void (r.parts[2]!.weightsSha256 = otherDigest) },
  { what: "two parts of one rank", spoil: (r) => void (r.parts[2] = { ...r.parts[1]! }) },
  { what: "a part of another world size", spoil: (r) => void (r.parts[1]!.worldSize = 4) },
];

for (const { what, spoil } of spoiled) {
  test(`rank 0 refuses to commit a gang save with ${what}, and commits nothing`, async () => {
    const dir = await tempDir();
    const snapshot = gangSnapshot(10, 3);
    spoil(snapshot.gang!);
    await assert.rejects(store(dir).save(snapshot, undefined), GangDisagreementError);
    assert.deepEqual(await store(dir).list(), []);
    assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith(".")), [], "nothing was even begun");
  });
}

/**
 * Commits a checkpoint as a faulty trainer might: the manifest sealed and every file's sha256
 * right, so only the gang check can refuse it.
 */
async function commitRaw(dir: string, snapshot: TrainingSnapshot, gang: { record?: Uint8Array; worldSize?: number }): Promise<string> {
  const backend = new DirectoryBackend({ dir, log: silentLog, readRetryDelaysMs: [] });
  const step = snapshot.meta.step;
  const { path } = await backend.commit({
    name: checkpointDirName(step, undefined),
    files: [
      { name: modelFile, chunks: encodeSafetensors(snapshot.weights, { format: "pt", step: String(step) }) },
      { name: optimizerFile, chunks: encodeSafetensors(snapshot.optimizerTensors, { optimizer: "sgd" }) },
      ...(gang.record ? [{ name: gangFile, chunks: [gang.record] }] : []),
    ],
    manifest: (files) => {
      const manifest = sealManifest({ formatVersion, ...snapshot.meta, ...(gang.worldSize && { worldSize: gang.worldSize }), createdAt: new Date().toISOString(), attempt: null, claim: null, files });
      return { name: manifestName, bytes: Buffer.from(JSON.stringify(manifest)) };
    },
  });
  return path;
}

const unloadable: { what: string; gang: (good: GangRecord) => { record?: Uint8Array; worldSize?: number } }[] = [
  ...spoiled.map(({ what, spoil }) => ({
    what,
    gang: (good: GangRecord) => {
      spoil(good);
      return { record: encodeGangRecord(good), worldSize: 3 };
    },
  })),
  { what: "no gang.json though the manifest records a gang", gang: () => ({ worldSize: 3 }) },
  { what: "a gang.json the manifest records no gang for", gang: (good) => ({ record: encodeGangRecord(good) }) },
  { what: "a gang.json of another world size than the manifest's", gang: (good) => ({ record: encodeGangRecord(good), worldSize: 2 }) },
  { what: "a gang.json that is not JSON", gang: () => ({ record: Buffer.from("{parts"), worldSize: 3 }) },
];

for (const { what, gang } of unloadable) {
  test(`a gang checkpoint with ${what} is never loaded: quarantined, the previous one loads`, async () => {
    const dir = await tempDir();
    await store(dir).save(gangSnapshot(10, 3), undefined);
    const bad = gangSnapshot(20, 3);
    const path = await commitRaw(dir, bad, gang(bad.gang!));
    await assert.rejects(store(dir).load(path), (err: Error) => err instanceof CorruptCheckpointError && /gang/.test(err.message));
    const loaded = await store(dir).loadNewestValid();
    assert.equal(loaded?.manifest.step, 10);
    const quarantined = await store(dir).quarantined();
    assert.equal(quarantined.length, 1);
    assert.ok(quarantined[0]!.startsWith(checkpointDirName(20, undefined)), `step 20 went to quarantine: ${quarantined.join(", ")}`);
  });
}

test("a good gang checkpoint loads, its world size recorded", async () => {
  const dir = await tempDir();
  await store(dir).save(gangSnapshot(10, 3), undefined);
  const loaded = await store(dir).loadNewestValid();
  assert.equal(loaded?.manifest.step, 10);
  assert.equal(loaded?.manifest.worldSize, 3);
});

test("in a bucket too, a crash at any write of a gang's commit leaves the old checkpoint or the whole new one", async () => {
  let puts = 0;
  let failFrom = Number.MAX_SAFE_INTEGER;
  // The puts of step 20's objects (the commits log written after them is not the commit).
  const objects: MemoryObjectStore = new MemoryObjectStore((call, key) =>
    call === "put" && key.startsWith("ckpt-00000020/") && puts++ >= failFrom ? objects.error("io", key, "InternalError", "injected crash") : undefined,
  );
  const bucket = () => store("", { backend: new ObjectBackend(objects) });
  await bucket().save(gangSnapshot(10, 3), undefined);
  const before = new Map(objects.objects);
  puts = 0;
  await bucket().save(gangSnapshot(20, 3), undefined);
  const writes = puts;
  assert.equal(writes, 4, "the gang's commit writes its three files, then the manifest");
  for (let failAt = 0; failAt < writes; failAt++) {
    objects.objects.clear();
    for (const [key, value] of before) objects.objects.set(key, value);
    puts = 0;
    failFrom = failAt;
    await assert.rejects(bucket().save(gangSnapshot(20, 3), undefined));
    failFrom = Number.MAX_SAFE_INTEGER;
    const loaded = await bucket().loadNewestValid();
    assert.ok(loaded, `a checkpoint loads (crash at put ${failAt})`);
    assert.equal(loaded.manifest.worldSize, 3);
    assert.equal(loaded.manifest.step, 10, `step 20 never shows without its manifest (crash at put ${failAt})`);
  }
});
