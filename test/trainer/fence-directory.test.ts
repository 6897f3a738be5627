// The fence's files on a directory: exclusively created versions, the newest kept with the one
// before, no temp file left, and `fence` kept as a copy for trainers of the previous version.
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { directoryFenceStorage, readClaims } from "../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { Fence, parseClaims } from "../../trainer/src/checkpoint/fence.js";
import { tempDir } from "./helpers/trainer-process.js";

const owner = { namespace: "ml", name: "a", uid: "uid-a" };

test("each claim publishes the next version; two are kept, no temp file is left", async () => {
  const dir = await tempDir();
  for (let attempt = 1; attempt <= 4; attempt++) {
    const fence = new Fence(directoryFenceStorage(dir), attempt, { owner });
    await fence.claim(attempt * 10);
    await fence.recordResume(attempt * 10);
  }
  assert.deepEqual((await readdir(dir)).sort(), ["fence", "fence.00000007", "fence.00000008"]);
  assert.deepEqual((await readClaims(dir)).map((c) => [c.attempt, c.resumedFromStep]), [[1, 10], [2, 20], [3, 30], [4, 40]]);
});

test("`fence` stays a copy of the newest version, never removed: a zombie of the previous trainer version never finds the fence gone", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "fence"), "3\n"); // the previous version's claim by attempt 3
  await new Fence(directoryFenceStorage(dir), 4, { owner }).claim(null);
  const copy = parseClaims(await readFile(join(dir, "fence"), "utf8"), "fence");
  assert.deepEqual(copy, await readClaims(dir));
  assert.deepEqual(copy.map((c) => c.attempt), [3, 4]);
});
