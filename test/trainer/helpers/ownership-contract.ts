// One owner per checkpoint location, on every backend (a directory and an object store in
// memory in checkpoint-ownership.test.ts, a bucket on the S3 server in
// checkpoint-store-s3.integration.test.ts): a second run pointed at a location refuses before it
// claims or writes anything, and leaves every byte of the owner's as it was.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FencedError } from "../../../trainer/src/checkpoint/errors.js";
import { LocationOwnedError, type RunOwner } from "../../../trainer/src/checkpoint/owner.js";
import { ConfigError } from "../../../trainer/src/config-error.js";
import type { Place } from "./places.js";
import { fakeSnapshot } from "./snapshots.js";

type NewPlace = () => Promise<Place>;

const runA: RunOwner = { namespace: "ml", name: "a", uid: "uid-a" };
const runB: RunOwner = { namespace: "ml", name: "b", uid: "uid-b" };

/** Run A's attempt 1 trains to step 300 with a checkpoint every 100 steps. */
async function ownedByA(newPlace: NewPlace): Promise<Place> {
  const p = await newPlace();
  const fence = p.fence(1, runA);
  const s = p.store({ fence, owner: runA, keep: 2 });
  await s.prepare();
  for (const step of [100, 200, 300]) await s.save(fakeSnapshot(step), 1);
  return p;
}

async function refusal(p: Place, attempt: number | undefined, owner: RunOwner | undefined): Promise<LocationOwnedError> {
  const fence = attempt === undefined ? undefined : p.fence(attempt, owner);
  const err: unknown = await p.store({ fence, owner }).prepare().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof LocationOwnedError, `LocationOwnedError, got ${String(err)}`);
  assert.ok(err instanceof ConfigError, "config-class: exit 2");
  return err;
}

export function ownershipContract(kind: string, newPlace: NewPlace): void {
  test(`${kind}: another run with the same attempt number is refused before it writes, naming the owner; nothing of the owner's changes`, async () => {
    const p = await ownedByA(newPlace);
    const before = await p.everything();
    const err = await refusal(p, 1, runB);
    assert.match(err.message, /belongs to run ml\/a \(uid uid-a\); this trainer is run ml\/b \(uid uid-b\)/);
    assert.match(err.message, /nothing was claimed or written/);
    assert.deepEqual(await p.everything(), before, "fence, commits log and checkpoints byte for byte");
  });

  test(`${kind}: another run is refused with fencing off too (no attempt: no claim of its own)`, async () => {
    const p = await ownedByA(newPlace);
    const before = await p.everything();
    await refusal(p, undefined, runB);
    assert.deepEqual(await p.everything(), before);
  });

  test(`${kind}: a trainer that names no run is refused on an owned location`, async () => {
    const p = await ownedByA(newPlace);
    const err = await refusal(p, 2, undefined);
    assert.match(err.message, /RESUMABLE_RUN unset/);
  });

  test(`${kind}: a re-created run (same namespace and name, another uid) is refused, the old run's checkpoints kept`, async () => {
    const p = await ownedByA(newPlace);
    const before = await p.everything();
    const err = await refusal(p, 1, { ...runA, uid: "uid-a2" });
    assert.match(err.message, /another uid is another run/);
    assert.deepEqual(await p.everything(), before);
  });

  test(`${kind}: a re-created run takes the location over once its fence is removed on purpose, resuming the old checkpoints`, async () => {
    const p = await ownedByA(newPlace);
    const recreated = { ...runA, uid: "uid-a2" };
    await refusal(p, 1, recreated);
    await p.removeFence();
    const s = p.store({ fence: p.fence(1, recreated), owner: recreated });
    await s.prepare();
    assert.equal((await s.loadNewestValid())?.manifest.step, 300, "nothing of the old run's training is lost");
    await s.save(fakeSnapshot(400), 1);
    const next = p.store({ fence: p.fence(2, recreated), owner: recreated });
    await next.prepare();
    assert.equal((await next.loadNewestValid())?.manifest.step, 400);
    assert.deepEqual((await next.claims()).map((c) => [c.attempt, c.owner?.uid]), [[1, "uid-a2"], [2, "uid-a2"]]);
    await refusal(p, 3, runA);
  });

  test(`${kind}: the owner's next attempt resumes, and every claim and manifest names the owner`, async () => {
    const p = await ownedByA(newPlace);
    const s = p.store({ fence: p.fence(2, runA), owner: runA });
    await s.prepare();
    const loaded = await s.loadNewestValid();
    assert.equal(loaded?.manifest.step, 300);
    assert.deepEqual(loaded?.manifest.owner, runA);
    assert.deepEqual(loaded?.manifest.claim?.owner, runA);
    assert.deepEqual((await s.claims()).map((c) => [c.attempt, c.owner]), [[1, runA], [2, runA]]);
  });

  test(`${kind}: a legacy location (claims and manifests without an owner) resumes, and is owned from then on`, async () => {
    const p = await newPlace();
    const legacy = p.store({ fence: p.fence(1) });
    await legacy.prepare();
    for (const step of [10, 20]) await legacy.save(fakeSnapshot(step), 1);
    assert.equal((await legacy.claims())[0]?.owner, undefined);
    const s = p.store({ fence: p.fence(2, runA), owner: runA });
    await s.prepare();
    assert.equal((await s.loadNewestValid())?.manifest.step, 20, "old data is not lost");
    assert.deepEqual((await s.claims()).map((c) => c.owner), [undefined, runA]);
    await refusal(p, 3, runB);
  });

  test(`${kind}: a fence of the previous format (one attempt number) resumes under a named run`, async () => {
    const p = await newPlace();
    await p.store().save(fakeSnapshot(10), 1);
    await p.writeFence("1\n");
    const s = p.store({ fence: p.fence(2, runA), owner: runA });
    await s.prepare();
    assert.equal((await s.loadNewestValid())?.manifest.step, 10);
    assert.deepEqual((await s.claims()).map((c) => [c.attempt, c.owner]), [[1, undefined], [2, runA]]);
  });

  test(`${kind}: claims from before uids were recorded still match their run, whose next claim records its uid`, async () => {
    const p = await newPlace();
    const noUid = { namespace: "ml", name: "a" };
    await p.store({ fence: p.fence(1, noUid), owner: noUid }).prepare();
    const s = p.store({ fence: p.fence(2, runA), owner: runA });
    await s.prepare();
    assert.deepEqual((await s.claims()).map((c) => c.owner), [noUid, runA]);
  });

  test(`${kind}: two runs claiming an empty location at once: exactly one owns it, the other is refused`, async () => {
    const p = await newPlace();
    const results = await Promise.allSettled([p.fence(1, runA).claim(null), p.fence(1, runB).claim(null)]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results));
    const lost = results.find((r) => r.status === "rejected");
    assert.ok(lost?.reason instanceof LocationOwnedError, String(lost?.reason));
    assert.equal((await p.store().claims()).length, 1);
  });

  test(`${kind}: two attempts of one run claiming at once: the newer owns it, the older is fenced`, async () => {
    const p = await newPlace();
    const [older, newer] = [p.fence(1, runA), p.fence(2, runA)];
    await Promise.allSettled([older.claim(null), newer.claim(null)]);
    await newer.check();
    await assert.rejects(older.check(), FencedError);
  });
}
