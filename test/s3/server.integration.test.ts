// The test world's S3 server: starts on loopback with a bucket, serves the calls checkpoints
// need, and stops without leaving a process or its data behind.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ObjectStoreError } from "../../trainer/src/checkpoint/backends/object/object-store.js";
import { S3ObjectStore } from "../../trainer/src/checkpoint/backends/object/s3.js";
import { isAlive } from "../cluster/processes.js";
import { startS3Server, type S3Server } from "./server.js";

test("the S3 server starts with a bucket, stores, lists and returns an object, and stops leaving no process or data", async () => {
  const server = await startS3Server({ bucket: "launcher-test" });
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
  });
  try {
    assert.match(server.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    await client.send(new PutObjectCommand({ Bucket: "launcher-test", Key: "dir/hello.txt", Body: "hello" }));
    const got = await client.send(new GetObjectCommand({ Bucket: "launcher-test", Key: "dir/hello.txt" }));
    assert.equal(await got.Body!.transformToString(), "hello");
    const listed = await client.send(new ListObjectsV2Command({ Bucket: "launcher-test", Prefix: "dir/" }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ["dir/hello.txt"]);
  } finally {
    client.destroy();
    await server.stop();
  }
  assert.equal(isAlive(server.pid), false);
  assert.equal(existsSync(server.dataDir), false);
});

test("while the server is stopped the store fails with I/O errors; restarted on the same port and data, objects are back and puts succeed", async () => {
  const server = await startS3Server({ bucket: "restart-test" });
  const store = S3ObjectStore.create({
    bucket: "restart-test",
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    maxAttempts: 2,
  });
  let restarted: S3Server | undefined;
  try {
    await store.putObject("ckpt-1/manifest.json", Buffer.from("one"));
    await server.stop({ keepData: true });
    await assert.rejects(store.putObject("ckpt-2/manifest.json", Buffer.from("two")), (err: unknown) => {
      assert.ok(err instanceof ObjectStoreError);
      assert.equal(err.kind, "io");
      assert.equal(err.retryable, true);
      return true;
    });
    restarted = await startS3Server({
      bucket: "restart-test",
      dataDir: server.dataDir,
      s3Port: server.s3Port,
      credentials: server.credentials,
    });
    assert.equal((await store.getObject("ckpt-1/manifest.json", { maxBytes: 10 })).toString(), "one");
    await store.putObject("ckpt-2/manifest.json", Buffer.from("two"));
    assert.equal((await store.head("ckpt-2/manifest.json"))?.size, 3);
  } finally {
    store.close();
    await (restarted ?? server).stop();
  }
});
