// The fence on an object store is one object replaced by a conditional put: If-None-Match: *
// for the first claim, If-Match: <the ETag read> after. A writer that loses that race gets
// FenceConflictError and the Fence reads again and retries, so no claim is lost and a newer
// attempt's claim is never overwritten. The store here keeps ETags in memory and lets a rival
// write land between a claimer's read and its put, exactly where the race is.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FenceConflictError } from "../../trainer/src/checkpoint/backend.js";
import { FencedError } from "../../trainer/src/checkpoint/errors.js";
import { Fence, parseClaims } from "../../trainer/src/checkpoint/fence.js";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { ObjectStoreError, type ObjectStore, type PutOptions } from "../../trainer/src/checkpoint/backends/object/object-store.js";
import { objectStoreStub } from "./helpers/object-store-stub.js";

interface Racing {
  store: ObjectStore;
  /** Conditions each put of the fence carried, in order. */
  conditions: PutOptions[];
  /** Runs once, just before the next put of the fence is judged. */
  beforeNextPut(rival: () => Promise<void>): void;
}

function racingStore(): Racing {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  let version = 0;
  let rival: (() => Promise<void>) | undefined;
  const conditions: PutOptions[] = [];
  const url = (key: string) => `s3://bucket/p/${key}`;
  const store = objectStoreStub({
    async putObject(key, body, options = {}) {
      conditions.push({ ifAbsent: options.ifAbsent, ifMatch: options.ifMatch });
      const run = rival;
      rival = undefined;
      await run?.();
      const current = objects.get(key);
      // What S3 answers: 412 PreconditionFailed, which the S3 store reports as kind "exists".
      const refused = (options.ifAbsent && current) || (options.ifMatch !== undefined && current?.etag !== options.ifMatch);
      if (refused) throw new ObjectStoreError("exists", `put ${url(key)}: PreconditionFailed`, { url: url(key), code: "PreconditionFailed" });
      const etag = `"v${++version}"`;
      objects.set(key, { body: Buffer.from(body as Uint8Array), etag });
      return { etag };
    },
    async getObjectVersioned(key) {
      const o = objects.get(key);
      if (!o) throw new ObjectStoreError("notFound", `get ${url(key)}: NoSuchKey`, { url: url(key) });
      return { body: o.body, etag: o.etag };
    },
  });
  return { store, conditions, beforeNextPut: (r) => (rival = r) };
}

async function claimsOf(racing: Racing): Promise<number[]> {
  const read = await new ObjectBackend(racing.store).fenceStorage().read();
  return read ? parseClaims(read.text, "fence").map((c) => c.attempt) : [];
}

test("a fence write against an ETag that changed since the read is refused with FenceConflictError (If-Match)", async () => {
  const racing = racingStore();
  const fence = new ObjectBackend(racing.store).fenceStorage();
  await fence.write('{"claims":[]}\n', undefined);
  const read = await fence.read();
  await fence.write('{"claims":[]}\n', read); // someone else's replace: a new ETag
  await assert.rejects(fence.write('{"claims":[]}\n', read), FenceConflictError);
  assert.deepEqual(racing.conditions.at(-1), { ifAbsent: undefined, ifMatch: read?.version }, "the replace was conditional on the ETag read");
});

test("a claim that loses the If-Match race to an older attempt reads again and retries: both claims kept, the newer owns", async () => {
  const racing = racingStore();
  await new Fence(new ObjectBackend(racing.store).fenceStorage(), 1).claim(null);
  // Attempt 2 read the fence holding attempt 1; before its put lands, attempt 1 (a restarted
  // container) rewrites it, so attempt 2's If-Match names a stale ETag.
  racing.beforeNextPut(async () => {
    const fence = new ObjectBackend(racing.store).fenceStorage();
    const read = await fence.read();
    await fence.write(read!.text, read);
  });
  await new Fence(new ObjectBackend(racing.store).fenceStorage(), 2).claim(5);
  assert.deepEqual(await claimsOf(racing), [1, 2]);
  const attempt2Puts = racing.conditions.slice(-2);
  assert.equal(attempt2Puts.length, 2, "one put lost, one retried");
  assert.notEqual(attempt2Puts[0]!.ifMatch, attempt2Puts[1]!.ifMatch, "the retry is conditional on the ETag read again");
});

test("a claim that loses the If-Match race to a newer attempt is fenced, and the newer claim is not overwritten", async () => {
  const racing = racingStore();
  await new Fence(new ObjectBackend(racing.store).fenceStorage(), 1).claim(null);
  racing.beforeNextPut(() => new Fence(new ObjectBackend(racing.store).fenceStorage(), 3).claim(7));
  await assert.rejects(new Fence(new ObjectBackend(racing.store).fenceStorage(), 2).claim(5), FencedError);
  assert.deepEqual(await claimsOf(racing), [1, 3]);
});

test("two first claims racing on If-None-Match: the loser reads the winner's fence and claims after it", async () => {
  const racing = racingStore();
  racing.beforeNextPut(() => new Fence(new ObjectBackend(racing.store).fenceStorage(), 1).claim(null));
  await new Fence(new ObjectBackend(racing.store).fenceStorage(), 2).claim(null);
  assert.deepEqual(await claimsOf(racing), [1, 2]);
  assert.equal(racing.conditions[0]!.ifAbsent, true, "the first claim was a conditional create");
});
