import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { directoryFenceStorage } from "../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { FencedError, StorageError } from "../../trainer/src/checkpoint/errors.js";
import { Fence } from "../../trainer/src/checkpoint/fence.js";
import { SaveThread } from "../../trainer/src/checkpoint/save-thread/thread.js";
import { sliceBytes } from "../../trainer/src/checkpoint/slices.js";
import type { CommittedCheckpoint } from "../../trainer/src/checkpoint/store.js";
import { CheckpointWriter, type Saver } from "../../trainer/src/checkpoint/writer.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { largeSnapshot, stepsUntil } from "./helpers/busy-steps.js";
import { fakeSnapshot, silentLog, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

/** The save thread of a trainer on `dir` (attempt: fencing on), made as the trainer's start-up makes it (CheckpointStore.prepare). */
async function saveThread(dir: string, attempt?: number, entry?: URL): Promise<SaveThread> {
  await mkdir(dir, { recursive: true });
  const env = readEnv({ RESUMABLE_CHECKPOINT_DIR: dir, ...(attempt !== undefined && { RESUMABLE_ATTEMPT: String(attempt) }) });
  return new SaveThread({ env, keep: 3, logBindings: {}, logLevel: "silent" }, dir, entry);
}

test("a save on the save thread spans a few steps of a loop that yields once per step, not one step per I/O operation", async () => {
  const mib = 16;
  const dir = await tempDir();
  await mkdir(join(dir, "here"));
  // On the training thread, each slice hashed waits for a step boundary (and each open, write, fsync, rename too).
  const onTrainingThread = await stepsUntil(store(join(dir, "here")).save(largeSnapshot(1, mib), undefined));
  const thread = await saveThread(join(dir, "there"));
  try {
    await thread.ready; // the thread's start-up is once per process, not per save: the trainer waits for it before training
    const onSaveThread = await stepsUntil(thread.save(largeSnapshot(2, mib), undefined));
    console.log(`a ${mib} MiB save spanned ${onTrainingThread} steps on the training thread, ${onSaveThread} on the save thread`);
    assert.ok(onTrainingThread >= mib, `the training thread's save spanned ${onTrainingThread} steps, fewer than its ${mib} slices`);
    assert.ok(onSaveThread <= onTrainingThread / 4, `the save thread's save spanned ${onSaveThread} steps, the training thread's ${onTrainingThread}`);
    // It committed what the store commits: the newest checkpoint loads, of step 2.
    const loaded = await store(join(dir, "there")).loadNewestValid();
    assert.equal(loaded?.manifest.step, 2);
  } finally {
    await thread.close();
  }
});

test("a periodic snapshot's buffers are handed to the save thread, a final one's are copied", async () => {
  const dir = await tempDir();
  const thread = await saveThread(dir);
  try {
    const periodic = largeSnapshot(1, 1);
    await thread.save(periodic, undefined);
    assert.equal(periodic.weights[0]!.data.byteLength, 0, "a periodic snapshot's buffer was transferred (detached here), not copied");
    const final = largeSnapshot(2, 1, "final");
    const committed = await thread.save(final, undefined);
    assert.equal(final.weights[0]!.data.byteLength, sliceBytes, "a final snapshot's tensors stay usable: they may be the model's own storage");
    assert.equal(committed.step, 2);
    assert.equal(committed.kind, "final");
    assert.ok(committed.time instanceof Date);
  } finally {
    await thread.close();
  }
});

test("an I/O error on the save thread is the StorageError the training thread's save gives, not corruption", async () => {
  const dir = await tempDir();
  const here = join(dir, "here");
  const there = join(dir, "there");
  const thread = await saveThread(there);
  try {
    await thread.save(fakeSnapshot(1), undefined);
    // The checkpoint directory becomes a file: every write under it fails with ENOTDIR.
    for (const d of [here, there]) {
      await rm(d, { recursive: true, force: true });
      await writeFile(d, "not a directory");
    }
    const expected = await store(here).save(fakeSnapshot(2), undefined).then(() => assert.fail("the save succeeded"), (err: unknown) => err);
    const got = await thread.save(fakeSnapshot(2), undefined).then(() => assert.fail("the save succeeded"), (err: unknown) => err);
    assert.ok(expected instanceof StorageError);
    assert.ok(got instanceof StorageError, `got ${String(got)}`);
    assert.equal(got.code, expected.code);
    assert.equal(got.code, "ENOTDIR");
    // The same words about the same place; the temp directory's name has a time in it.
    const same = (text: string) => text.replaceAll(here, there).replace(/\.tmp-[\w-]+/g, ".tmp-…");
    assert.equal(same(got.path), same(expected.path));
    assert.equal(same(got.message), same(expected.message));
  } finally {
    await thread.close();
  }
});

test("a save on the save thread of a superseded attempt fails with FencedError, which stops training", async () => {
  const dir = await tempDir();
  const thread = await saveThread(dir, 1);
  try {
    await new Fence(directoryFenceStorage(dir), 1).claim(null);
    await thread.save(fakeSnapshot(1), undefined);
    await new Fence(directoryFenceStorage(dir), 2).claim(1);
    await assert.rejects(thread.save(fakeSnapshot(2), 1), (err) => err instanceof FencedError && /attempt 2 owns/.test(err.message));
  } finally {
    await thread.close();
  }
});

test("a save thread that dies fails its save with a StorageError, and the next save starts a new thread", async () => {
  const dir = await tempDir();
  const thread = await saveThread(dir, undefined, new URL("./helpers/dying-save-worker.ts", import.meta.url));
  try {
    for (const step of [1, 2]) {
      await assert.rejects(thread.save(fakeSnapshot(step), undefined), (err) => err instanceof StorageError && /save thread exited with code 70/.test(err.message));
    }
    await thread.ready; // a thread that died is "ready" too: start-up does not wait on it forever
  } finally {
    await thread.close();
  }
});

test("the writer runs periodic saves on its background saver and the final one on the store, then closes the background one", async () => {
  const ran: string[] = [];
  const saver = (where: string): Saver => ({
    save: (snapshot) => {
      ran.push(`${snapshot.meta.kind} ${snapshot.meta.step} on ${where}`);
      return Promise.resolve({ step: snapshot.meta.step, kind: snapshot.meta.kind } as CommittedCheckpoint);
    },
    close: () => {
      ran.push(`${where} closed`);
      return Promise.resolve();
    },
  });
  const writer = new CheckpointWriter(saver("the store"), undefined, silentLog, { onCommitted: () => {}, onFailed: () => {}, isFatal: () => false }, saver("the save thread"));
  assert.ok(writer.startAsync(fakeSnapshot(1)));
  await writer.saveNow(fakeSnapshot(2, "final"));
  await writer.close();
  assert.deepEqual(ran, ["periodic 1 on the save thread", "final 2 on the store", "the save thread closed"]);
});

test("a snapshot that cannot be sent to the save thread fails its save at once, leaves the thread idle, and the next save commits", async () => {
  const dir = await tempDir();
  const thread = await saveThread(dir);
  // A thread with a save outstanding keeps the process alive (its port is an active resource).
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === "MessagePort").length;
  try {
    await thread.ready;
    const idle = ports();
    const unsendable = fakeSnapshot(1);
    unsendable.meta.config = { ...unsendable.meta.config, hook: () => {} }; // a function cannot be cloned
    await assert.rejects(thread.save(unsendable, undefined), (err) => (err as { name?: unknown }).name === "DataCloneError");
    assert.equal(ports(), idle, "no save is left outstanding: the idle thread does not keep the process alive");
    assert.equal((await thread.save(fakeSnapshot(2), undefined)).step, 2);
  } finally {
    await thread.close();
  }
});
