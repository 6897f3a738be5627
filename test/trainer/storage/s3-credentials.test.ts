// Credentials from a mounted Secret whose keys are named like the AWS environment variables.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectStoreError } from "../../../trainer/src/storage/object-store.js";
import { credentialsFromDirectory } from "../../../trainer/src/storage/s3.js";

test("a mounted secret's key files become credentials, trailing newlines trimmed, session token optional", async () => {
  const dir = await mkdtemp(join(tmpdir(), "s3-secret-"));
  try {
    await writeFile(join(dir, "AWS_ACCESS_KEY_ID"), "AKIDEXAMPLE\n");
    await writeFile(join(dir, "AWS_SECRET_ACCESS_KEY"), "s3cr3t\n");
    assert.deepEqual(await credentialsFromDirectory(dir), { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s3cr3t" });
    await writeFile(join(dir, "AWS_SESSION_TOKEN"), "token");
    assert.equal((await credentialsFromDirectory(dir)).sessionToken, "token");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a mounted secret without the secret key is a credentials (config) error naming the missing file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "s3-secret-"));
  try {
    await writeFile(join(dir, "AWS_ACCESS_KEY_ID"), "AKIDEXAMPLE");
    await assert.rejects(credentialsFromDirectory(dir), (err: unknown) => {
      assert.ok(err instanceof ObjectStoreError);
      assert.equal(err.kind, "credentials");
      assert.equal(err.needsConfigChange, true);
      assert.ok(err.message.includes(join(dir, "AWS_SECRET_ACCESS_KEY")), err.message);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
