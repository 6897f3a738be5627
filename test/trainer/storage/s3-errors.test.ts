// How the S3 backend tells failures apart, against a scripted HTTP server on 127.0.0.1 (fast,
// no real S3 needed): which errors are retried, which are credentials, which are I/O.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ObjectStoreError } from "../../../trainer/src/checkpoint/backends/object/object-store.js";
import { S3ObjectStore } from "../../../trainer/src/checkpoint/backends/object/s3.js";
import { freePort } from "../../cluster/processes.js";

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

function s3Error(status: number, code: string, message: string): Reply {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  };
}

const ok: Reply = (_req, res) => {
  res.writeHead(200, { etag: '"abc"' });
  res.end();
};

/** Serves `replies` in order (the last one repeats) and counts requests. */
async function scripted(replies: Reply[]): Promise<{ endpoint: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => replies[Math.min(n++, replies.length - 1)]!(req, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => n,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function storeAt(endpoint: string, maxAttempts = 3): S3ObjectStore {
  return S3ObjectStore.create({
    bucket: "b",
    prefix: "runs/r1",
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "id", secretAccessKey: "secret" },
    maxAttempts,
  });
}

async function rejectsWith(p: Promise<unknown>, check: (e: ObjectStoreError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ObjectStoreError, `expected ObjectStoreError, got ${String(err)}`);
    check(err);
    return true;
  });
}

/** Runs `check` against a store on `server`, then closes both. */
async function against(server: { endpoint: string; close: () => Promise<void> }, check: (store: S3ObjectStore) => Promise<void>): Promise<void> {
  const store = storeAt(server.endpoint);
  try {
    await check(store);
  } finally {
    store.close();
    await server.close();
  }
}

test("a 503 is retried and the put succeeds when the server recovers", async () => {
  const server = await scripted([s3Error(503, "SlowDown", "Please reduce your request rate."), ok]);
  const store = storeAt(server.endpoint);
  try {
    await store.putObject("a", Buffer.from("x"));
    assert.equal(server.requests(), 2);
  } finally {
    store.close();
    await server.close();
  }
});

test("5xx on every attempt is an I/O error, retryable, after maxAttempts requests", async () => {
  const server = await scripted([s3Error(500, "InternalError", "We encountered an internal error.")]);
  const store = storeAt(server.endpoint, 3);
  try {
    await rejectsWith(store.putObject("a", Buffer.from("x")), (e) => {
      assert.equal(e.kind, "io");
      assert.equal(e.retryable, true);
      assert.equal(e.needsConfigChange, false);
      assert.equal(e.details.url, "s3://b/runs/r1/a");
      assert.match(e.message, /We encountered an internal error/);
    });
    assert.equal(server.requests(), 3);
  } finally {
    store.close();
    await server.close();
  }
});

for (const [code, message] of [
  ["InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."],
  ["SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."],
  ["AccessDenied", "Access Denied"],
] as const) {
  test(`${code} is a credentials error carrying the server's message, not retried`, async () => {
    const server = await scripted([s3Error(403, code, message)]);
    const store = storeAt(server.endpoint);
    try {
      await rejectsWith(store.putObject("a", Buffer.from("x")), (e) => {
        assert.equal(e.kind, "credentials");
        assert.equal(e.details.code, code);
        assert.equal(e.needsConfigChange, true);
        assert.equal(e.retryable, false);
        assert.ok(e.message.includes(message), e.message);
      });
      assert.equal(server.requests(), 1);
    } finally {
      store.close();
      await server.close();
    }
  });
}

test("a 403 on HEAD (no body to name the code) is still a credentials error, not a missing object", async () => {
  const server = await scripted([(_req, res) => { res.writeHead(403); res.end(); }]);
  const store = storeAt(server.endpoint);
  try {
    await rejectsWith(store.head("a"), (e) => assert.equal(e.kind, "credentials"));
  } finally {
    store.close();
    await server.close();
  }
});

test("a 404 on HEAD is an absent object (undefined), a NoSuchKey on GET is notFound", async () => {
  const server = await scripted([(_req, res) => { res.writeHead(404); res.end(); }, s3Error(404, "NoSuchKey", "The specified key does not exist.")]);
  const store = storeAt(server.endpoint);
  try {
    assert.equal(await store.head("a"), undefined);
    await rejectsWith(store.getObject("a", { maxBytes: 10 }), (e) => {
      assert.equal(e.kind, "notFound");
      assert.equal(e.retryable, false);
    });
  } finally {
    store.close();
    await server.close();
  }
});

test("NoSuchBucket is a config error naming the bucket problem", async () => {
  const server = await scripted([s3Error(404, "NoSuchBucket", "The specified bucket does not exist")]);
  const store = storeAt(server.endpoint);
  try {
    await rejectsWith(store.getObject("a", { maxBytes: 10 }), (e) => {
      assert.equal(e.kind, "bucket");
      assert.equal(e.needsConfigChange, true);
    });
  } finally {
    store.close();
    await server.close();
  }
});

test("a refused connection is an I/O error after retries, naming the errno", async () => {
  const store = storeAt(`http://127.0.0.1:${await freePort()}`, 2);
  try {
    await rejectsWith(store.putObject("a", Buffer.from("x")), (e) => {
      assert.equal(e.kind, "io");
      assert.equal(e.details.code, "ECONNREFUSED");
      assert.equal(e.retryable, true);
    });
  } finally {
    store.close();
  }
});

test("an object bigger than the reader's cap is refused as tooLarge before its body is read", async () => {
  const server = await scripted([(_req, res) => { res.writeHead(200, { "content-length": "100" }); res.end(Buffer.alloc(100)); }]);
  const store = storeAt(server.endpoint);
  try {
    await rejectsWith(store.getObject("a", { maxBytes: 99 }), (e) => {
      assert.equal(e.kind, "tooLarge");
      assert.equal(e.retryable, false);
    });
    assert.equal((await store.getObject("a", { maxBytes: 100 })).byteLength, 100);
  } finally {
    store.close();
    await server.close();
  }
});

/**
 * One object that conditional PUTs write and GETs read. `lose(n)` says how the answer to the
 * n-th PUT (from 0) is lost after the object was stored: a 500, a reset connection, or not at all.
 */
async function landingServer(lose: (n: number) => "500" | "reset" | undefined, preexisting?: Buffer) {
  let stored = preexisting;
  const seen: string[] = [];
  let puts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const conditional = req.headers["if-none-match"] === "*";
      if (req.method === "PUT") {
        const n = puts++;
        if (conditional && stored !== undefined) {
          seen.push("PUT 412");
          return s3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")(req, res);
        }
        stored = Buffer.concat(chunks);
        const lost = lose(n);
        seen.push(`PUT ${lost ?? "200"}`);
        if (lost === "reset") return req.socket.destroy();
        if (lost === "500") return s3Error(500, "InternalError", "We encountered an internal error.")(req, res);
        return ok(req, res);
      }
      seen.push(`${req.method} ${stored ? 200 : 404}`);
      if (!stored) return s3Error(404, "NoSuchKey", "The specified key does not exist.")(req, res);
      res.writeHead(200, { etag: '"stored"', "content-length": String(stored.byteLength) });
      res.end(stored);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const lost of ["500", "reset"] as const) {
  test(`a conditional PUT that landed but whose answer was lost (${lost}) succeeds when the retry finds our own bytes there`, async () => {
    const server = await landingServer((n) => (n === 0 ? lost : undefined));
    await against(server, async (store) => {
      const manifest = Buffer.from('{"step":10}\n');
      assert.deepEqual(await store.putObject("ckpt-00000010/manifest.json", manifest, { ifAbsent: true }), { etag: '"stored"' });
      assert.deepEqual(server.seen, [`PUT ${lost}`, "PUT 412", "GET 200"], "retried, refused, then read back");
    });
  });
}

test("a conditional PUT refused because another writer's different bytes are there still fails as exists", async () => {
  const server = await landingServer(() => undefined, Buffer.from('{"step":10,"attempt":3}\n'));
  await against(server, (store) =>
    rejectsWith(store.putObject("ckpt-00000010/manifest.json", Buffer.from('{"step":10}\n'), { ifAbsent: true }), (e) => {
      assert.equal(e.kind, "exists");
      assert.equal(e.details.httpStatus, 412);
    }),
  );
});

test("a CopyObject refused for the source's size is tooLarge (a limit of the call), not an I/O error to retry", async () => {
  const server = await scripted([s3Error(400, "InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")]);
  await against(server, async (store) => {
    await rejectsWith(store.copy("ckpt-1/model.safetensors", "quarantine/ckpt-1-1/model.safetensors"), (e) => {
      assert.equal(e.kind, "tooLarge");
      assert.equal(e.retryable, false);
      assert.equal(e.needsConfigChange, false);
    });
    assert.equal(server.requests(), 1);
  });
});
