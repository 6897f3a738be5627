/**
 * A periodic save that fails (a full volume: ENOSPC) must not stop training or harm what is
 * saved: earlier checkpoints intact, no temp debris, `failing` set until a save succeeds. The
 * final save failing is an error (StorageError, exit 4).
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { StorageError } from "../../trainer/src/checkpoint/errors.js";
import { CheckpointWriter } from "../../trainer/src/checkpoint/writer.js";
import { failingWritesIo } from "./helpers/faulty-io.js";
import { fakeSnapshot, silentLog, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

async function writerOnFullVolume() {
  const dir = await tempDir();
  let full = false;
  const s = store(dir, { io: failingWritesIo("ENOSPC", () => full) });
  const events = { committed: [] as number[], failed: 0 };
  const writer = new CheckpointWriter(s, undefined, silentLog, {
    onCommitted: (c) => events.committed.push(c.step),
    onFailed: () => (events.failed += 1),
    isFatal: () => false,
  });
  return { dir, s, writer, events, setFull: (v: boolean) => (full = v) };
}

test("ENOSPC during periodic saves: earlier checkpoints intact, no debris, failure reported until a save succeeds", async () => {
  const { dir, s, writer, events, setFull } = await writerOnFullVolume();
  writer.startAsync(fakeSnapshot(10));
  await writer.drain();
  assert.equal(writer.failing, null);

  setFull(true);
  writer.startAsync(fakeSnapshot(20));
  await writer.drain();
  writer.startAsync(fakeSnapshot(30));
  await writer.drain();
  assert.equal(writer.fatal, undefined, "training goes on");
  const failing = writer.failing as { since: string; failures: number; message: string } | null; // (TS narrowed it to null above)
  assert.equal(failing?.failures, 2);
  assert.match(failing?.message ?? "", /StorageError: .*ENOSPC/);
  const since = failing?.since;
  assert.ok(since !== undefined && !Number.isNaN(Date.parse(since)), "since is an ISO time");
  assert.deepEqual((await s.list()).map((c) => c.step), [10], "the earlier checkpoint is intact");
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith(".")), [], "temp dirs removed");
  assert.equal((await s.loadNewestValid())?.manifest.step, 10);

  setFull(false);
  writer.startAsync(fakeSnapshot(40));
  await writer.drain();
  assert.equal(writer.failing, null, "cleared by a successful save");
  assert.deepEqual(events, { committed: [10, 40], failed: 2 });
});

test("the final save failing on a full volume is a StorageError naming ENOSPC", async () => {
  const { writer, setFull } = await writerOnFullVolume();
  setFull(true);
  const err: unknown = await writer.saveNow(fakeSnapshot(10, "final")).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof StorageError, String(err));
  assert.equal(err.code, "ENOSPC");
});
