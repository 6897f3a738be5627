/**
 * The atomic commit under a failure injected at each of its file-system steps, both as an
 * error the trainer sees and as a crash (that step and every later one fail, so nothing is
 * cleaned up). Whatever the step, the directory holds the old checkpoints plus either nothing
 * or the complete new one, and the next start loads a valid checkpoint.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fsCommitIo, type CommitIo } from "../../trainer/src/checkpoint/backends/directory/io.js";
import { fakeSnapshot, gangSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

/** Fails the `failAt`-th io call (0-based); in crash mode every call after it fails too. */
function faultyIo(failAt: number, crash: boolean): { io: CommitIo; calls: () => number } {
  let calls = 0;
  const wrap =
    <A extends unknown[]>(op: string, f: (...a: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const n = calls++;
      if (n === failAt || (crash && n > failAt)) throw new Error(`injected failure at call ${n} (${op})`);
      return f(...args);
    };
  return {
    io: {
      mkdir: wrap("mkdir", fsCommitIo.mkdir),
      writeFileSynced: wrap("writeFileSynced", fsCommitIo.writeFileSynced),
      fsyncDir: wrap("fsyncDir", fsCommitIo.fsyncDir),
      rename: wrap("rename", fsCommitIo.rename),
      removeTree: wrap("removeTree", fsCommitIo.removeTree),
    },
    calls: () => calls,
  };
}

async function countCommitCalls(worldSize: number): Promise<number> {
  const dir = await tempDir();
  const probe = faultyIo(Number.MAX_SAFE_INTEGER, false);
  await store(dir, { io: probe.io }).save(worldSize > 1 ? gangSnapshot(1, worldSize) : fakeSnapshot(1), undefined);
  return probe.calls();
}

/**
 * The new checkpoint is either of a later step (20) or a replacement of the existing step 10
 * (after resuming from an older checkpoint), written with other values so a test can tell
 * which one it loaded.
 */
const cases = [
  { what: "a new step", step: 20, value: 20, worldSize: 1 },
  { what: "a replacement of an existing step", step: 10, value: 99, worldSize: 1 },
  // A gang's parts (gang.json) are written with the tensors, before the one commit: a crash
  // between them and the commit must leave nothing loadable of the gang's checkpoint.
  { what: "a gang's new step", step: 20, value: 20, worldSize: 3 },
];

for (const { what, step, value, worldSize } of cases) {
  for (const crash of [false, true]) {
    test(`a ${crash ? "crash" : "failure"} at any step of committing ${what} leaves the old checkpoints plus nothing or the complete new one`, async () => {
      const steps = await countCommitCalls(worldSize);
      assert.ok(steps >= 7, `the commit takes its steps through the io (${steps})`);
      for (let failAt = 0; failAt < steps + 2; failAt++) {
        const dir = await tempDir();
        await store(dir).save(fakeSnapshot(10), undefined);
        const { io } = faultyIo(failAt, crash);
        const snapshot = worldSize > 1 ? gangSnapshot(step, worldSize, value) : fakeSnapshot(step);
        snapshot.weights[0]!.data.fill(value);
        const committed = await store(dir, { io })
          .save(snapshot, undefined)
          .then(() => true)
          .catch(() => false);

        const next = store(dir); // the next start
        await next.prepare();
        const entries = (await readdir(dir)).sort();
        assert.ok(!entries.some((e) => e.startsWith(".")), `no temp or moved-aside dir survives a restart (fail at ${failAt}): ${entries}`);
        const steps = (await next.list()).map((c) => c.step);
        assert.ok(steps.includes(10), `the old checkpoint is kept (fail at ${failAt})`);
        const loaded = await next.loadNewestValid();
        assert.ok(loaded, "a valid checkpoint loads");
        const newOne = loaded.manifest.step === step && loaded.weights[0]!.data[0] === value;
        if (committed) assert.ok(newOne, `a commit reported done is visible (fail at ${failAt})`);
        if (newOne && worldSize > 1) assert.equal(loaded.manifest.worldSize, worldSize, `the gang's checkpoint loads whole, parts verified (fail at ${failAt})`);
        if (!newOne) {
          assert.equal(loaded.manifest.step, 10);
          assert.equal(loaded.weights[0]!.data[0], 10, `the old checkpoint is intact (fail at ${failAt})`);
        }
        assert.ok(!(await readdir(dir)).includes("quarantine"), `nothing was corrupt (fail at ${failAt})`);
      }
    });
  }
}

test("a new checkpoint of an existing step replaces it", async () => {
  const dir = await tempDir();
  const s = store(dir);
  await s.save(fakeSnapshot(5), undefined);
  const again = fakeSnapshot(5, "final");
  again.weights[0]!.data.fill(99);
  await s.save(again, undefined);
  const loaded = await s.load(join(dir, "ckpt-00000005"));
  assert.equal(loaded.weights[0]!.data[0], 99);
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith(".")), []);
});
