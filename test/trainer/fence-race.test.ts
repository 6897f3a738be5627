// Two trainer processes claim one directory (a shared RWX volume) at the same instant, round
// after round: exactly one may own it each time. Two runs with the same attempt number: the
// loser is refused as another run's location; two attempts of one run: the older is fenced.
// Randomised: FENCE_RACE_SEED reproduces a run (the seed is printed), FENCE_RACE_ROUNDS sets its length.
// Needs the built trainer (npx tsc -b trainer): the children are plain node, so they start fast.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { tempDir, testRandom } from "./helpers/trainer-process.js";

const seed = Number(process.env.FENCE_RACE_SEED ?? Date.now() % 1_000_000);
const rounds = Number(process.env.FENCE_RACE_ROUNDS ?? 10);
console.log(`fence race: FENCE_RACE_SEED=${seed} FENCE_RACE_ROUNDS=${rounds}`);

const fenceModule = fileURLToPath(new URL("../../trainer/dist/checkpoint/fence.js", import.meta.url));
const directoryFenceModule = fileURLToPath(new URL("../../trainer/dist/checkpoint/backends/directory/fence-directory.js", import.meta.url));

/**
 * One claimer: waits for the common start instant (busy, so both leave the wait within a
 * fraction of a millisecond), claims, says "claimed", and checks whether it still owns the
 * directory only when the test says both claims are done (a line on stdin): a clock deadline
 * for that check was missed on a loaded machine, where one child checked before the other had
 * even started, and both were rightly owners in turn. Prints "owner" or the error's name.
 */
const child = `
const [dir, attempt, run, claimAt] = process.argv.slice(1);
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
console.log("claimed");
await new Promise((resolve) => process.stdin.once("data", resolve));
if (outcome === "owner") await fence.check().catch((err) => (outcome = err.name));
console.log(outcome);
process.exit(0);
`;

/** A claimer started: `claimed` settles once its claim is done, `outcome` once it has checked. */
function startClaimer(dir: string, attempt: number, runName: string, claimAt: number) {
  const p = spawn(process.execPath, ["--input-type=module", "-e", child, dir, String(attempt), runName, String(claimAt)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const next = async (what: string) => {
    const line = await lines.next();
    if (line.done) throw new Error(`claimer ${runName}/${attempt} exited before ${what}`);
    return line.value.trim();
  };
  const claimed = next("its claim");
  return {
    claimed,
    check: async () => {
      p.stdin.end("check\n");
      return next("its check");
    },
  };
}

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
    const started = claimers.map((c) => startClaimer(dir, c.attempt, c.run, c.claimAt));
    await Promise.all(started.map((c) => c.claimed));
    const outcomes = await Promise.all(started.map((c) => c.check()));
    const context = `seed ${seed}, round ${round}, ${sameRun ? "attempts 1 and 2 of one run" : "two runs, attempt 1"}: ${outcomes.join(", ")}`;
    assert.equal(outcomes.filter((o) => o === "owner").length, 1, context);
    assert.ok(outcomes.includes(sameRun ? "FencedError" : "LocationOwnedError"), context);
    if (sameRun) assert.equal(outcomes[1], "owner", `the newer attempt owns it: ${context}`);
  }
});
