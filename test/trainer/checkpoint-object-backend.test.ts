// The object-store backend's commit with a store that fails on cue (no server): which error a
// failed save reports decides the exit code, so it must be the cause, not a side effect.
import assert from "node:assert/strict";
import { test } from "node:test";
import { StorageRefusedError } from "../../trainer/src/checkpoint/errors.js";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { classifyFailure } from "../../trainer/src/main.js";
import { ObjectStoreError, type ObjectStore } from "../../trainer/src/checkpoint/backends/object/object-store.js";
import { objectStoreStub } from "./helpers/object-store-stub.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";

/** A store whose optimizer upload is refused (credentials) while the weights' upload waits to be aborted. */
function refusingStore(): ObjectStore {
  const url = (key: string) => `s3://bucket/p/${key}`;
  return objectStoreStub({
    async putObject(key, body, options) {
      if (key.endsWith("/optimizer.safetensors")) {
        throw new ObjectStoreError("credentials", `put ${url(key)}: InvalidAccessKeyId`, { url: url(key), code: "InvalidAccessKeyId" });
      }
      // The weights' upload is still going when the other fails; it ends only by the abort.
      await new Promise<void>((resolve) => options?.signal?.addEventListener("abort", () => resolve(), { once: true }));
      throw new ObjectStoreError("aborted", `put ${url(key)}: aborted`, { url: url(key) });
    },
  });
}

test("s3 save: refused credentials on one file fail the save as a storage refusal, not as the other upload's abort", async () => {
  const s = store("", { backend: new ObjectBackend(refusingStore()) });
  const err: unknown = await s.save(fakeSnapshot(10), undefined).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof StorageRefusedError, `a StorageRefusedError, got ${String(err)}`);
  assert.match(err.message, /InvalidAccessKeyId/);
  // Exit 2 as before, but the summary says it is the store, not the training config.
  const { failure, exitCode } = classifyFailure(err);
  assert.deepEqual(
    { exitCode, kind: failure.kind, path: failure.path, code: failure.code },
    { exitCode: 2, kind: "storageRefused", path: "s3://bucket/p/ckpt-00000010/optimizer.safetensors", code: "InvalidAccessKeyId" },
  );
});
