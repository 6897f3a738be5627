// The checkpoint store's contract on a directory; the same tests run on a bucket in
// checkpoint-store-s3.integration.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { CorruptCheckpointError } from "../../trainer/src/checkpoint/store.js";
import { directoryPlace } from "./helpers/places.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { storeContract } from "./helpers/store-contract.js";
import { tempDir } from "./helpers/trainer-process.js";

storeContract("directory", directoryPlace);

test("directory: load reads a checkpoint in another directory from its path, and a bare name in its own", async () => {
  const elsewhere = await tempDir();
  await store(elsewhere).save(fakeSnapshot(10), undefined);
  const own = await tempDir();
  await store(own).save(fakeSnapshot(20), undefined);
  const s = store(own);
  const loaded = await s.load(join(elsewhere, "ckpt-00000010"));
  assert.equal(loaded.manifest.step, 10, "the checkpoint at the given path, not the one of that name in the store's directory");
  assert.equal(loaded.weights[0]?.data[0], 10);
  assert.equal((await s.load("ckpt-00000020")).manifest.step, 20);
  await assert.rejects(s.load("ckpt-00000010"), CorruptCheckpointError, "a bare name is looked up in the store's own directory");
});
