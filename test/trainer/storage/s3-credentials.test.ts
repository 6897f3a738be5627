// Credentials from a mounted Secret whose keys are named like the AWS environment variables,
// and from the SDK's default chain.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectStoreError } from "../../../trainer/src/checkpoint/backends/object/object-store.js";
import { classifyS3Error } from "../../../trainer/src/checkpoint/backends/object/s3-errors.js";
import { credentialsFromDirectory, S3ObjectStore } from "../../../trainer/src/checkpoint/backends/object/s3.js";

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

// The SDK's default credential chain: what each way of failing to get credentials means. No
// lookup may leave the loopback: instance metadata is disabled in every test that builds a
// client, and no shared config file is read.
async function withEnv<T>(vars: Record<string, string | undefined>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await run();
  } finally {
    set(saved);
  }
}

const noCredentials = {
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_ROLE_ARN: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), "resumable-no-such-aws-credentials"),
  AWS_CONFIG_FILE: join(tmpdir(), "resumable-no-such-aws-config"),
};

/** A loopback HTTP server answering every request with `status`; counts them. */
async function answering(status: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    req.resume();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ Code: "InternalError", Message: "agent overloaded" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

async function putWithDefaultChain(endpoint: string): Promise<ObjectStoreError> {
  const store = S3ObjectStore.create({ bucket: "b", endpoint, region: "us-east-1", maxAttempts: 1 });
  try {
    const err: unknown = await store.putObject("a", Buffer.from("x")).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ObjectStoreError, `an ObjectStoreError, got ${String(err)}`);
    return err;
  } finally {
    store.close();
  }
}

test("no credentials configured anywhere (instance metadata disabled) is a permanent credentials error; the store is never asked", async () => {
  const s3 = await answering(200);
  try {
    const err = await withEnv(noCredentials, () => putWithDefaultChain(s3.url));
    assert.equal(err.kind, "credentials");
    assert.equal(err.needsConfigChange, true);
    assert.match(err.message, /no storage credentials are configured/);
    assert.equal(s3.requests(), 0);
  } finally {
    await s3.close();
  }
});

test("a credentials endpoint that fails (the pod identity agent answering 500) is I/O, retried later, not a refusal", async () => {
  const s3 = await answering(200);
  const agent = await answering(500);
  try {
    const err = await withEnv({ ...noCredentials, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${agent.url}/v1/credentials` }, () => putWithDefaultChain(s3.url));
    assert.equal(err.kind, "io", err.message);
    assert.equal(err.retryable, true);
    assert.equal(err.needsConfigChange, false);
    assert.match(err.message, /container credentials endpoint/);
    assert.ok(agent.requests() > 0, "the agent was asked");
    assert.equal(s3.requests(), 0);
  } finally {
    await agent.close();
    await s3.close();
  }
});

test("classification of credential-source errors: instance metadata and STS timeouts, throttling and 5xx are I/O; refusals and missing configuration are permanent", () => {
  const exhausted = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError", tryNextLink: false });
  const sts = (name: string, status: number) => Object.assign(new Error(`${name} from STS`), { name, $metadata: { httpStatusCode: status } });
  const cases: [string, unknown, NodeJS.ProcessEnv, string][] = [
    ["the chain ran out after instance metadata (timed out)", exhausted, {}, "io"],
    ["the chain ran out, instance metadata disabled: nothing configured", exhausted, { AWS_EC2_METADATA_DISABLED: "true" }, "credentials"],
    ["AWS_EC2_METADATA_DISABLED=false still asks instance metadata", exhausted, { AWS_EC2_METADATA_DISABLED: "false" }, "io"],
    ["a profile the chain cannot use", Object.assign(new Error("Profile p could not be found"), { name: "CredentialsProviderError" }), {}, "credentials"],
    ["an STS timeout", Object.assign(new Error("socket hang up"), { name: "TimeoutError" }), {}, "io"],
    ["STS throttling", sts("Throttling", 400), {}, "io"],
    ["an STS 5xx", sts("InternalFailure", 500), {}, "io"],
    ["STS cannot reach the identity provider", sts("IDPCommunicationErrorException", 400), {}, "io"],
    ["STS refuses the web identity token", sts("InvalidIdentityTokenException", 400), {}, "credentials"],
    ["STS: the projected token expired (the kubelet renews it)", sts("ExpiredTokenException", 400), {}, "io"],
    ["STS denies the role", sts("AccessDenied", 403), {}, "credentials"],
  ];
  for (const [what, err, env, kind] of cases) {
    const classified = classifyS3Error(err, "put", "s3://b/a", env);
    assert.ok(classified instanceof ObjectStoreError, what);
    assert.equal(classified.kind, kind, `${what}: ${classified.message}`);
  }
});
