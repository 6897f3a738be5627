// The checkpoint store's contract (the same tests as on a directory) on a bucket of the real S3
// server process (test/s3/server.ts), and what only an object store has: multipart uploads
// under the checkpoint's own prefix, the manifest as the commit record, a server that goes
// away and comes back, and credentials or a bucket that are wrong.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { StorageError, StorageRefusedError } from "../../trainer/src/checkpoint/errors.js";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { S3ObjectStore, type S3StoreConfig } from "../../trainer/src/checkpoint/backends/object/s3.js";
import { startS3Server, storeLocation, type S3Server } from "../s3/server.js";
import { s3Place } from "./helpers/places.js";
import { ownershipContract } from "./helpers/ownership-contract.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { fencingContract, storeContract } from "./helpers/store-contract.js";

let server: S3Server;

before(async () => {
  server = await startS3Server({ bucket: "checkpoints" });
});
after(async () => {
  await server?.stop();
});

storeContract("s3", async () => s3Place(server));
fencingContract("s3", async () => s3Place(server));
ownershipContract("s3", async () => s3Place(server));

let runs = 0;
function objectStore(overrides: Partial<S3StoreConfig> = {}): S3ObjectStore {
  return S3ObjectStore.create({
    ...storeLocation(server, `special/r${++runs}`),
    partSize: 5 * 1024 * 1024,
    maxAttempts: 1,
    connectionTimeoutMs: 1000,
    requestTimeoutMs: 5000,
    ...overrides,
  });
}

/** A snapshot whose weights span several multipart parts. */
function bigSnapshot(step: number) {
  const snapshot = fakeSnapshot(step);
  const big = new Float32Array(3 * 1024 * 1024).map((_, i) => Math.sin(i + step)); // 12 MiB
  snapshot.weights.push({ name: "big/kernel", dtype: "F32", shape: [3 * 1024, 1024], data: big });
  return snapshot;
}

test("s3: a checkpoint larger than a part goes up in parts under its own prefix, manifest last, and loads back bit-identical", async () => {
  const objects = objectStore();
  const s = store("", { backend: new ObjectBackend(objects) });
  const snapshot = bigSnapshot(40);
  const committed = await s.save(snapshot, undefined);
  assert.equal(committed.path, objects.url("ckpt-00000040"));
  const keys: string[] = [];
  for await (const o of objects.list("ckpt-00000040/")) keys.push(o.key);
  assert.deepEqual(keys.sort(), ["ckpt-00000040/manifest.json", "ckpt-00000040/model.safetensors", "ckpt-00000040/optimizer.safetensors"]);
  assert.ok(((await objects.head("ckpt-00000040/model.safetensors"))?.size ?? 0) > 2 * 5 * 1024 * 1024, "more than two 5 MiB parts");
  const loaded = await s.loadNewestValid();
  const big = loaded?.weights.find((w) => w.name === "big/kernel");
  assert.deepEqual(Buffer.from(big!.data.buffer, big!.data.byteOffset, big!.data.byteLength), Buffer.from(snapshot.weights[2]!.data.buffer));
  objects.close();
});

test("s3: a save cut short before its manifest (past the grace period) leaves the previous checkpoint the newest; the next start removes its files", async () => {
  const place = s3Place(server);
  await place.store().save(fakeSnapshot(10), undefined);
  const stall = place.stallingStore({});
  void stall.store.save(fakeSnapshot(20), undefined).catch(() => {}); // never released: the pod was killed
  await stall.stalled; // every data file is up, the manifest is not
  assert.deepEqual((await place.store().list()).map((c) => c.step), [10], "no manifest, no checkpoint");
  assert.equal((await place.store().loadNewestValid())?.manifest.step, 10);
  await place.store().prepare();
  assert.deepEqual(await place.debris(), [], "the next start removed the uploaded files");
});

test("s3: with the server gone a save fails as a StorageError and changes nothing; when it is back saves succeed again", async () => {
  const dataDir = server.dataDir;
  const objects = objectStore();
  const s = store("", { backend: new ObjectBackend(objects) });
  await s.save(fakeSnapshot(10), undefined);
  await server.stop({ keepData: true });
  try {
    const err: unknown = await s.save(fakeSnapshot(20), undefined).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof StorageError, `a StorageError (exit 4, retried), got ${String(err)}`);
    assert.match(err.message, /ECONNREFUSED|connect/i);
  } finally {
    server = await startS3Server({ dataDir, s3Port: server.s3Port, credentials: server.credentials, bucket: server.bucket });
  }
  assert.deepEqual((await s.list()).map((c) => c.step), [10], "the failed save left the previous checkpoint the newest");
  await s.save(fakeSnapshot(30), undefined);
  assert.deepEqual((await s.list()).map((c) => c.step), [30, 10]);
  objects.close();
});

test("s3: load while the server is down is a StorageError and quarantines nothing", async () => {
  const dataDir = server.dataDir;
  const objects = objectStore();
  const s = store("", { backend: new ObjectBackend(objects) });
  await s.save(fakeSnapshot(10), undefined);
  await s.save(fakeSnapshot(20), undefined);
  await server.stop({ keepData: true });
  try {
    const err: unknown = await s.loadNewestValid().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof StorageError, `a StorageError (exit 4, retried), got ${String(err)}`);
  } finally {
    server = await startS3Server({ dataDir, s3Port: server.s3Port, credentials: server.credentials, bucket: server.bucket });
  }
  assert.deepEqual((await s.list()).map((c) => c.step), [20, 10], "both checkpoints are still there");
  assert.deepEqual(await s.quarantined(), [], "an unreachable server is not corrupt content");
  objects.close();
});

test("s3: a wrong secret fails the start as a StorageRefusedError with the server's message, never as an empty bucket", async () => {
  const objects = objectStore({ credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: "wrong" } });
  const s = store("", { backend: new ObjectBackend(objects) });
  await assert.rejects(s.prepare(), (err: unknown) => {
    assert.ok(err instanceof StorageRefusedError, `StorageRefusedError, got ${String(err)}`);
    assert.match(err.message, /SignatureDoesNotMatch/);
    return true;
  });
  await assert.rejects(s.resumePoint({ allowFreshStart: true }), StorageRefusedError, "not a fresh start either");
  objects.close();
});

test("s3: a bucket that does not exist fails the start as a StorageRefusedError naming it", async () => {
  const objects = objectStore({ bucket: "no-such-bucket" });
  await assert.rejects(store("", { backend: new ObjectBackend(objects) }).prepare(), (err: unknown) => {
    assert.ok(err instanceof StorageRefusedError, `StorageRefusedError, got ${String(err)}`);
    assert.match(err.message, /NoSuchBucket/);
    return true;
  });
  objects.close();
});
