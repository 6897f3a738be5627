// The S3 object store's contract, against the test world's real S3 server process (test/s3/server.ts):
// streamed multipart puts, capped gets, paginated listing, conditional create and replace, the copy and
// delete a quarantine and retention use, and how each failure is told apart.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { ObjectStoreError, type ObjectInfo } from "../../../trainer/src/checkpoint/backends/object/object-store.js";
import { S3ObjectStore, type S3StoreConfig } from "../../../trainer/src/checkpoint/backends/object/s3.js";
import { startS3Server, storeLocation, type S3Server } from "../../s3/server.js";

const mebibyte = 1024 * 1024;
let server: S3Server;
let run = 0;

before(async () => {
  server = await startS3Server({ bucket: "contract" });
});
after(async () => {
  await server?.stop();
});

/** A store under a prefix of its own, so tests do not see each other's keys. */
function store(overrides: Partial<S3StoreConfig> = {}): S3ObjectStore {
  return S3ObjectStore.create({
    ...storeLocation(server, `runs/t${++run}`),
    partSize: 5 * mebibyte,
    maxAttempts: 2,
    ...overrides,
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function rejectsWithKind(p: Promise<unknown>, kind: ObjectStoreError["kind"], message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ObjectStoreError, `expected ObjectStoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test("a body given as chunks larger than a part goes up as a multipart upload and reads back identical", async () => {
  const s = store();
  try {
    // One chunk bigger than two parts, then small ones: parts straddle chunk boundaries.
    const chunks = [randomBytes(11 * mebibyte), randomBytes(1000), randomBytes(3 * mebibyte)];
    const whole = Buffer.concat(chunks);
    const put = await s.putObject("ckpt/model.safetensors", chunks);
    // S3's multipart ETag is "<md5 of part md5s>-<part count>": 14 MiB + 1000 B in 5 MiB parts is 3.
    assert.match(put.etag ?? "", /-3"?$/);
    const got = await s.getObject("ckpt/model.safetensors", { maxBytes: whole.byteLength });
    assert.equal(sha256(got), sha256(whole));
    const info = await s.head("ckpt/model.safetensors");
    assert.equal(info?.size, whole.byteLength);
  } finally {
    s.close();
  }
});

test("one contiguous body larger than a part goes up in parts and reads back identical", async () => {
  const s = store();
  try {
    const body = randomBytes(6 * mebibyte);
    const put = await s.putObject("ckpt/optimizer.safetensors", body);
    assert.match(put.etag ?? "", /-2"?$/);
    assert.equal(sha256(await s.getObject("ckpt/optimizer.safetensors", { maxBytes: body.byteLength })), sha256(body));
  } finally {
    s.close();
  }
});

test("a small object round-trips through one put; head of a missing key is undefined", async () => {
  const s = store();
  try {
    await s.putObject("manifest.json", Buffer.from('{"step":3}'));
    assert.equal((await s.getObject("manifest.json", { maxBytes: 1024 })).toString(), '{"step":3}');
    assert.equal(await s.head("nope.json"), undefined);
    await rejectsWithKind(s.getObject("nope.json", { maxBytes: 1024 }), "notFound");
  } finally {
    s.close();
  }
});

test("an object larger than the reader's cap is refused as tooLarge", async () => {
  const s = store();
  try {
    await s.putObject("big", Buffer.alloc(4096));
    await rejectsWithKind(s.getObject("big", { maxBytes: 4095 }), "tooLarge");
  } finally {
    s.close();
  }
});

test("listing follows continuation pages and returns keys relative to the store's prefix", async () => {
  const s = store({ listPageSize: 2 });
  try {
    const keys = ["ckpt-1/a", "ckpt-1/manifest.json", "ckpt-2/a", "ckpt-2/manifest.json", "other/x"];
    for (const k of keys) await s.putObject(k, Buffer.from(k));
    const listed = await collect(s.list("ckpt-"));
    assert.deepEqual(listed.map((o: ObjectInfo) => o.key), keys.slice(0, 4));
    assert.deepEqual(listed.map((o) => o.size), keys.slice(0, 4).map((k) => k.length));
    assert.deepEqual(await collect(s.listPrefixes("")), ["ckpt-1/", "ckpt-2/", "other/"]);
  } finally {
    s.close();
  }
});

test("a store's prefix does not leak into a sibling prefix that shares its first characters", async () => {
  const a = store({ prefix: "shared/run" });
  const ab = store({ prefix: "shared/run-b" });
  try {
    await ab.putObject("x", Buffer.from("b's"));
    assert.deepEqual(await collect(a.list("")), []);
  } finally {
    a.close();
    ab.close();
  }
});

test("a conditional create refuses to overwrite, and the first writer's bytes stay", async () => {
  const s = store();
  try {
    await s.putObject("manifest.json", Buffer.from("first"), { ifAbsent: true });
    await rejectsWithKind(s.putObject("manifest.json", Buffer.from("second"), { ifAbsent: true }), "exists");
    assert.equal((await s.getObject("manifest.json", { maxBytes: 100 })).toString(), "first");
  } finally {
    s.close();
  }
});

test("a conditional replace (If-Match) succeeds against the ETag read and is refused as exists once the object changed", async () => {
  const s = store();
  try {
    await s.putObject("fence", Buffer.from("v1"), { ifAbsent: true });
    const read = await s.getObjectVersioned("fence", { maxBytes: 100 });
    assert.ok(read.etag, "the server returns an ETag to replace against");
    await s.putObject("fence", Buffer.from("v2"), { ifMatch: read.etag });
    // A second writer holding the same, now stale, ETag loses: the server honours If-Match.
    await rejectsWithKind(s.putObject("fence", Buffer.from("v3"), { ifMatch: read.etag }), "exists");
    assert.equal((await s.getObject("fence", { maxBytes: 100 })).toString(), "v2");
  } finally {
    s.close();
  }
});

test("copy then deletePrefix moves a checkpoint's objects to a quarantine prefix", async () => {
  const s = store();
  try {
    for (const k of ["ckpt-7/a", "ckpt-7/manifest.json", "ckpt-8/a"]) await s.putObject(k, Buffer.from(k));
    for (const o of await collect(s.list("ckpt-7/"))) await s.copy(o.key, `quarantine/${o.key}`);
    assert.equal(await s.deletePrefix("ckpt-7/"), 2);
    assert.deepEqual((await collect(s.list(""))).map((o) => o.key), ["ckpt-8/a", "quarantine/ckpt-7/a", "quarantine/ckpt-7/manifest.json"]);
    assert.equal((await s.getObject("quarantine/ckpt-7/a", { maxBytes: 100 })).toString(), "ckpt-7/a");
    await s.delete("ckpt-8/a");
    await s.delete("ckpt-8/a"); // deleting what is gone is not an error
    assert.equal(await s.head("ckpt-8/a"), undefined);
  } finally {
    s.close();
  }
});

test("an upload aborted by the caller's signal fails as aborted and leaves no object", async () => {
  const s = store();
  const controller = new AbortController();
  async function* slowChunks() {
    yield randomBytes(6 * mebibyte); // the first part goes out
    controller.abort();
    yield randomBytes(6 * mebibyte);
  }
  try {
    await rejectsWithKind(s.putObject("ckpt/model.safetensors", slowChunks(), { signal: controller.signal }), "aborted");
    assert.equal(await s.head("ckpt/model.safetensors"), undefined);
  } finally {
    s.close();
  }
});

test("a wrong secret is a credentials error with the server's message, never retried into an I/O error", async () => {
  const s = store({ credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: "wrong" } });
  try {
    await rejectsWithKind(s.putObject("x", Buffer.from("x")), "credentials", /SignatureDoesNotMatch/);
  } finally {
    s.close();
  }
});

test("an unknown access key is a credentials error naming InvalidAccessKeyId", async () => {
  const s = store({ credentials: { accessKeyId: "nobody", secretAccessKey: "x" } });
  try {
    await rejectsWithKind(s.list("").next(), "credentials", /InvalidAccessKeyId/);
  } finally {
    s.close();
  }
});

test("a bucket that does not exist is a bucket (config) error", async () => {
  const s = store({ bucket: "no-such-bucket" });
  try {
    await rejectsWithKind(s.getObject("x", { maxBytes: 10 }), "bucket");
  } finally {
    s.close();
  }
});
