// The scenario with real trainer processes: a second run (another RESUMABLE_RUN, the
// same attempt number, another seed) pointed at a directory holding another run's checkpoints
// at step 300 refuses at start with exit 2, names the owner, and changes nothing of the owner's.
import assert from "node:assert/strict";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { EXIT_CODES } from "@resumable/protocol";
import { readClaims } from "../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { runToEnd, startTrainer, tempDir, tinyConfig } from "./helpers/trainer-process.js";

const runEnv = (name: string, uid: string) => ({ RESUMABLE_RUN: name, RESUMABLE_POD_NAME: `${name}-1`, RESUMABLE_POD_NAMESPACE: "ml", RESUMABLE_RUN_UID: uid });

async function everyFile(dir: string): Promise<Map<string, Buffer>> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  return new Map(await Promise.all(files.map(async (e) => [join(e.parentPath, e.name), await readFile(join(e.parentPath, e.name))] as const)));
}

test("another run on a location that holds run a's checkpoints at step 300 exits 2 naming a; a's fence, commits.log and checkpoints are unchanged", async () => {
  const dir = join(await tempDir(), "ckpt");
  const config = tinyConfig({ totalSteps: 300, checkpoint: { everySteps: 100, everySeconds: 0, keep: 2 } });
  const owner = await runToEnd({ config, checkpointDir: dir, attempt: 1, env: runEnv("a", "uid-a") });
  assert.equal(owner.code, 0, owner.stderr);
  const before = await everyFile(dir);
  assert.ok([...before.keys()].some((f) => f.endsWith("ckpt-00000300-a1/manifest.json")));
  assert.ok([...before.keys()].some((f) => f.endsWith("ckpt-00000200-a1/manifest.json")));

  const other = await runToEnd({ config: { ...config, seed: 99 }, checkpointDir: dir, attempt: 1, env: runEnv("b", "uid-b") });
  assert.equal(other.code, EXIT_CODES.config, other.stderr);
  const failure = other.summary?.failure as { kind: string; message: string } | undefined;
  assert.equal(failure?.kind, "locationOwned", "its own failure kind, so the operator says StorageInUse, not InvalidConfig");
  assert.match(failure.message, /LocationOwnedError: .* belongs to run ml\/a \(uid uid-a\); this trainer is run ml\/b \(uid uid-b\)/);
  assert.equal(other.summary?.resumedFromStep, null, "it never loaded a's model");
  assert.deepEqual(await everyFile(dir), before, "every byte of a's location as it was");

  // The owner's next attempt still resumes where it was.
  const next = await runToEnd({ config: { ...config, totalSteps: 320 }, checkpointDir: dir, attempt: 2, env: runEnv("a", "uid-a") });
  assert.equal(next.code, 0, next.stderr);
  assert.equal(next.summary?.resumedFromStep, 300);
});

test("a claim of another run that appears mid-run (a hand-edited fence) stops the trainer at its next save: exit 2 naming that run, not a save failure to train past", async () => {
  const dir = join(await tempDir(), "ckpt");
  const trainer = await startTrainer({ config: tinyConfig({ totalSteps: 100000 }), checkpointDir: dir, attempt: 1, env: runEnv("a", "uid-a") });
  await trainer.waitFor((l) => l.msg === "checkpoint committed");
  // What no trainer writes (another run is refused before it claims): a version naming run b.
  const claims = await readClaims(dir);
  const version = Math.max(...(await readdir(dir)).flatMap((n) => /^fence\.(\d+)$/.exec(n)?.[1] ?? []).map(Number)) + 1;
  const foreign = { ...claims.at(-1)!, owner: { namespace: "ml", name: "b", uid: "uid-b" } };
  await writeFile(join(dir, ".forged"), JSON.stringify({ claims: [...claims, foreign] }));
  await rename(join(dir, ".forged"), join(dir, `fence.${String(version).padStart(8, "0")}`));
  const result = await trainer.done;
  assert.equal(result.code, EXIT_CODES.config, result.stderr);
  assert.match((result.summary?.failure as { message: string }).message, /belongs to run ml\/b \(uid uid-b\)/);
});
