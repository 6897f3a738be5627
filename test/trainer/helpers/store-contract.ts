// The checkpoint store's contract, run against every backend (a directory in
// checkpoint-store.test.ts and fencing.test.ts, a bucket on the real S3 server in
// checkpoint-store-s3.integration.test.ts): listing, newest-valid loading, quarantine,
// retention, crash debris, fencing tokens and the commits log behave the same on both.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FencedError } from "../../../trainer/src/checkpoint/errors.js";
import { sealManifest } from "../../../trainer/src/checkpoint/manifest.js";
import { CorruptCheckpointError } from "../../../trainer/src/checkpoint/store.js";
import type { Place } from "./places.js";
import { fakeSnapshot } from "./snapshots.js";

type NewPlace = () => Promise<Place>;

async function withCheckpoints(newPlace: NewPlace, steps: number[]): Promise<Place> {
  const place = await newPlace();
  const s = place.store({ keep: 10 });
  for (const step of steps) await s.save(fakeSnapshot(step), undefined);
  return place;
}

const corruptions: [string, (p: Place, ckpt: string) => Promise<void>][] = [
  ["a truncated weights file", async (p, c) => p.writeFile(c, "model.safetensors", (await p.readFile(c, "model.safetensors")).subarray(0, 30))],
  ["a flipped byte in the weights", async (p, c) => {
    const bytes = Buffer.from(await p.readFile(c, "model.safetensors"));
    bytes[bytes.length - 1]! ^= 0xff;
    await p.writeFile(c, "model.safetensors", bytes);
  }],
  ["an empty manifest", (p, c) => p.writeFile(c, "manifest.json", "")],
  ["a manifest that is not JSON", async (p, c) => p.writeFile(c, "manifest.json", `${(await p.readFile(c, "manifest.json")).toString()}}`)],
  ["a missing optimizer file", (p, c) => p.removeFile(c, "optimizer.safetensors")],
];

export function storeContract(kind: string, newPlace: NewPlace): void {
  for (const [what, corrupt] of corruptions) {
    test(`${kind}: a newest checkpoint with ${what} is quarantined and the previous one loaded`, async () => {
      const p = await withCheckpoints(newPlace, [10, 20]);
      await corrupt(p, "ckpt-00000020");
      const s = p.store();
      await assert.rejects(s.load(p.path("ckpt-00000020")), CorruptCheckpointError);
      const loaded = await s.loadNewestValid();
      assert.equal(loaded?.manifest.step, 10);
      assert.deepEqual((await s.list()).map((c) => c.step), [10]);
      const quarantined = await s.quarantined();
      assert.equal(quarantined.length, 1);
      assert.match(quarantined[0]!, /^ckpt-00000020-/);
    });
  }

  test(`${kind}: a manifest naming a file outside the checkpoint is corrupt, not followed`, async () => {
    const p = await withCheckpoints(newPlace, [10]);
    const manifest = JSON.parse((await p.readFile("ckpt-00000010", "manifest.json")).toString());
    manifest.files["../fence"] = { sha256: "0".repeat(64), bytes: 1 };
    // Resealed: the digest would catch the edit first; this proves the file-name check itself.
    await p.writeFile("ckpt-00000010", "manifest.json", JSON.stringify(sealManifest(manifest)));
    await assert.rejects(p.store().load(p.path("ckpt-00000010")), /unsafe file/);
  });

  test(`${kind}: no checkpoint at all: loadNewestValid returns nothing`, async () => {
    const s = (await newPlace()).store();
    await s.prepare();
    assert.equal(await s.loadNewestValid(), undefined);
  });

  test(`${kind}: retention keeps the last \`keep\` plus the newest final one, deleting only after a newer commit`, async () => {
    const s = (await newPlace()).store({ keep: 2 });
    await s.save(fakeSnapshot(5, "final"), undefined);
    await s.save(fakeSnapshot(10), undefined);
    assert.deepEqual((await s.list()).map((c) => c.step), [10, 5]);
    await s.save(fakeSnapshot(15), undefined);
    await s.save(fakeSnapshot(20), undefined);
    assert.deepEqual((await s.list()).map((c) => c.step), [20, 15, 5], "the final one is kept beyond keep");
    await s.save(fakeSnapshot(25, "final"), undefined);
    await s.save(fakeSnapshot(30), undefined);
    assert.deepEqual((await s.list()).map((c) => c.step), [30, 25], "only the newest final one is kept");
  });

  test(`${kind}: prepare removes an incomplete commit left by a crash and leaves everything else`, async () => {
    const p = await withCheckpoints(newPlace, [10]);
    const before = (await p.entries()).sort();
    await p.leaveIncompleteCommit(20);
    assert.equal((await p.debris()).length, 1);
    assert.deepEqual((await p.store().list()).map((c) => c.step), [10], "an incomplete commit is not a checkpoint");
    await p.store().prepare();
    assert.deepEqual(await p.debris(), []);
    assert.deepEqual((await p.entries()).sort(), before, "everything else is as it was");
    assert.deepEqual((await p.store().list()).map((c) => c.path), [p.path("ckpt-00000010")]);
    assert.equal((await p.store().loadNewestValid())?.manifest.step, 10);
  });

  test(`${kind}: fence: a newer attempt's claim makes an older one refuse to commit; the same attempt may go on`, async () => {
    const p = await newPlace();
    const first = p.fence(1);
    await p.store({ fence: first }).prepare();
    await p.store({ fence: first }).save(fakeSnapshot(10), 1);

    const second = p.fence(2);
    await p.store({ fence: second }).prepare();
    assert.deepEqual((await first.claims()).map((c) => [c.attempt, c.newestStepAtClaim]), [[1, null], [2, 10]], "each claim records the newest step it saw");

    await assert.rejects(p.store({ fence: first }).save(fakeSnapshot(20), 1), FencedError);
    assert.deepEqual((await p.store().list()).map((c) => c.step), [10], "the zombie committed nothing");
    assert.deepEqual(await p.debris(), [], "and left no incomplete commit");
    await assert.rejects(p.store({ fence: first }).prepare(), FencedError, "an older attempt cannot claim again");

    await p.store({ fence: p.fence(2) }).prepare(); // a restarted container of attempt 2
    await p.store({ fence: second }).save(fakeSnapshot(20), 2);
    assert.deepEqual((await p.store().list()).map((c) => c.step), [20, 10]);
  });
}

/**
 * Fencing tokens: a zombie (an older attempt still running on a partitioned node) that stalls
 * between its fence check and its commit lands a checkpoint after its successor's claim. That
 * checkpoint is harmless: no loader takes it, retention does not count it, it cannot replace
 * the successor's checkpoint of the same step, and the zombie still gets FencedError (exit 3).
 */
export function fencingContract(kind: string, newPlace: NewPlace): void {
  async function zombieLandsAfterClaim(opts: { zombieStep: number; successorStep?: number; keep?: number }) {
    const p = await newPlace();
    const keep = opts.keep ?? 3;
    const first = p.fence(1);
    const a1 = p.store({ fence: first, keep });
    await a1.prepare();
    await a1.save(fakeSnapshot(10), 1);

    const stall = p.stallingStore({ fence: first, keep });
    const zombieSave = stall.store.save(fakeSnapshot(opts.zombieStep), 1).then(() => undefined, (err: unknown) => err);
    await stall.stalled; // the zombie has passed its fence check

    // The successor claims (as its prepare does: newest step listed first) and the zombie's
    // commit lands before the successor's clean-up would have removed the zombie's files.
    const second = p.fence(2);
    await second.claim(10);
    const a2 = p.store({ fence: second, keep });
    if (opts.successorStep !== undefined) await a2.save(fakeSnapshot(opts.successorStep), 2);
    stall.release();
    const zombieError = await zombieSave;
    await a2.prepare();
    return { p, zombieError, a2 };
  }

  test(`${kind}: a zombie's commit that lands after the successor's claim is ignored by the loader, and the zombie is fenced`, async () => {
    const { p, zombieError, a2 } = await zombieLandsAfterClaim({ zombieStep: 20 });
    assert.ok(zombieError instanceof FencedError, "the zombie still sees the fence (exit 3)");
    assert.ok((await p.entries()).includes("ckpt-00000020-a1"), "the late commit did land");
    assert.equal((await a2.loadNewestValid())?.manifest.step, 10, "the successor resumes from what it saw at its claim");
    assert.ok(!(await p.entries()).includes("quarantine"), "ignored, not quarantined");
  });

  test(`${kind}: a zombie cannot replace the successor's checkpoint of the same step`, async () => {
    const { p, a2 } = await zombieLandsAfterClaim({ zombieStep: 20, successorStep: 20 });
    const loaded = await a2.loadNewestValid();
    assert.equal(loaded?.path, p.path("ckpt-00000020-a2"));
    assert.equal(loaded?.manifest.attempt, 2);
    assert.ok((await p.entries()).includes("ckpt-00000020-a1"), "both exist side by side under attempt-qualified names");
  });

  test(`${kind}: retention never lets a zombie's late commit displace a valid checkpoint`, async () => {
    const { p, a2 } = await zombieLandsAfterClaim({ zombieStep: 20, keep: 1 });
    await a2.applyRetention();
    assert.ok((await p.entries()).includes("ckpt-00000010-a1"), "the only valid checkpoint is kept");
    assert.equal((await a2.loadNewestValid())?.manifest.step, 10);
  });

  test(`${kind}: claims record what each attempt saw and resumed from; the commit log names every commit, the zombie's marked`, async () => {
    const { p, zombieError, a2 } = await zombieLandsAfterClaim({ zombieStep: 20 });
    assert.ok(zombieError instanceof FencedError);
    await p.fence(2).recordResume(10);
    assert.deepEqual(
      (await a2.claims()).map((c) => ({ attempt: c.attempt, newestStepAtClaim: c.newestStepAtClaim, resumedFromStep: c.resumedFromStep })),
      [
        { attempt: 1, newestStepAtClaim: null, resumedFromStep: null },
        { attempt: 2, newestStepAtClaim: 10, resumedFromStep: 10 },
      ],
    );
    const log = await a2.commitLog();
    assert.deepEqual(log.map((l) => [l.dir, l.attempt, l.fencedAfterRename]), [["ckpt-00000010-a1", 1, false], ["ckpt-00000020-a1", 1, true]]);
    const manifest = JSON.parse((await p.readFile("ckpt-00000020-a1", "manifest.json")).toString());
    assert.equal(manifest.attempt, 1);
    assert.equal(manifest.claim.attempt, 1, "the manifest carries its writer's claim");
  });

  test(`${kind}: a successor that started fresh ignores every later commit of an older attempt`, async () => {
    const p = await newPlace();
    await p.store({ fence: p.fence(2) }).prepare();
    // An attempt-1 checkpoint that appears after attempt 2 claimed an empty location.
    await p.store({ fence: undefined }).save(fakeSnapshot(30), 1);
    assert.equal(await p.store().loadNewestValid(), undefined);
    assert.equal(await p.store().resumePoint({ allowFreshStart: false }), undefined, "ignored is not unusable: a fresh start is right");
  });

  test(`${kind}: a fence of the previous version (one attempt number) still fences and supersedes nothing`, async () => {
    const p = await newPlace();
    await p.store().save(fakeSnapshot(10), 1);
    await p.writeFence("2\n");
    await assert.rejects(p.fence(1).check(), FencedError);
    assert.equal((await p.store().loadNewestValid())?.manifest.step, 10);
  });

  test(`${kind}: a zombie whose incomplete commit the successor's start-up removed is told it is fenced, not that storage failed`, async () => {
    const p = await newPlace();
    const first = p.fence(1);
    await p.store({ fence: first }).prepare();
    const stall = p.stallingStore({ fence: first });
    const zombieSave = stall.store.save(fakeSnapshot(20), 1).then(() => undefined, (err: unknown) => err);
    await stall.stalled;
    await p.store({ fence: p.fence(2) }).prepare();
    stall.release();
    const err = await zombieSave;
    assert.ok(err instanceof FencedError, `FencedError, got ${String(err)}`);
    if (p.kind === "directory") {
      assert.deepEqual((await p.entries()).filter((e) => e.startsWith("ckpt-") || e.startsWith(".")), [], "nothing landed, no debris");
    } else {
      // No rename: the zombie's manifest put was already under way and lands over the files the
      // successor removed; it is superseded and incomplete, so nothing ever loads it.
      assert.equal(await p.store().loadNewestValid(), undefined);
    }
  });
}
