// Two trainer processes claim one directory (a shared RWX volume) at the same instant, round
// after round: exactly one may own it each time. Two runs with the same attempt number: the
// loser is refused as another run's location; two attempts of one run: the older is fenced.
// Randomised: FENCE_RACE_SEED reproduces a run (the seed is printed), FENCE_RACE_ROUNDS sets its length.
// Needs the built trainer (npx tsc -b trainer): the children are plain node, so they start fast.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir, testRandom } from "./helpers/trainer-process.js";

const seed = Number(process.env.FENCE_RACE_SEED ?? Date.now() % 1_000_000);
const rounds = Number(process.env.FENCE_RACE_ROUNDS ?? 10);
console.log(`fence race: FENCE_RACE_SEED=${seed} FENCE_RACE_ROUNDS=${rounds}`);

const fenceModule = fileURLToPath(new URL("../../trainer/dist/checkpoint/fence.js", import.meta.url));
const directoryFenceModule = fileURLToPath(new URL("../../trainer/dist/checkpoint/backends/directory/fence-directory.js", import.meta.url));

/**
 * One claimer: waits for the common start instant (busy, so both leave the wait within a
 * fraction of a millisecond), claims, waits until both claims are done, then checks whether it
 * still owns the directory. Prints "owner" or the name of the error that said otherwise.
 */
const child = `
const [dir, attempt, run, claimAt, checkAt] = process.argv.slice(1);
const { Fence } = await import(${JSON.stringify(fenceModule)});
const { directoryFenceStorage } = await import(${JSON.stringify(directoryFenceModule)});
const fence = new Fence(directoryFenceStorage(dir), Number(attempt), { owner: { namespace: "ml", name: run } });
while (Date.now() < Number(claimAt));
let outcome = "owner";
try {
  await fence.claim(null);
} catch (err) {
  outcome = err.name;
}
while (Date.now() < Number(checkAt));
if (outcome === "owner") await fence.check().catch((err) => (outcome = err.name));
console.log(outcome);
`;

const run = promisify(execFile);

test("two processes claim one directory at once: exactly one owns it, every round", { timeout: 120_000 }, async () => {
  const random = testRandom(seed);
  const root = await tempDir();
  for (let round = 0; round < rounds; round++) {
    const dir = join(root, `round-${round}`);
    await mkdir(dir);
    const sameRun = random(2) === 0;
    // Node starts in well under this; a jitter of 0-2 ms varies who gets there first.
    const claimAt = Date.now() + 700;
    const claimers = [
      { attempt: 1, run: "a", claimAt },
      { attempt: sameRun ? 2 : 1, run: sameRun ? "a" : "b", claimAt: claimAt + random(3) },
    ];
    const outcomes = await Promise.all(
      claimers.map(async (c) => (await run(process.execPath, ["--input-type=module", "-e", child, dir, String(c.attempt), c.run, String(c.claimAt), String(claimAt + 1500)])).stdout.trim()),
    );
    const context = `seed ${seed}, round ${round}, ${sameRun ? "attempts 1 and 2 of one run" : "two runs, attempt 1"}: ${outcomes.join(", ")}`;
    assert.equal(outcomes.filter((o) => o === "owner").length, 1, context);
    assert.ok(outcomes.includes(sameRun ? "FencedError" : "LocationOwnedError"), context);
    if (sameRun) assert.equal(outcomes[1], "owner", `the newer attempt owns it: ${context}`);
  }
});
