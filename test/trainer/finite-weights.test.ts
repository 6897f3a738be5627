// A checkpoint loads only with finite weights and optimizer state. The trainer never commits
// non-finite state (failure-exits.test.ts), but a checkpoint can come from elsewhere: another
// trainer, an older version, a hand edit resealed with valid digests. Such a checkpoint is
// corrupt-class at load: quarantined, and the previous one is used.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { checkpointDirName } from "../../trainer/src/checkpoint/layout.js";
import type { TrainingSnapshot } from "../../trainer/src/checkpoint/snapshot.js";
import { store } from "./helpers/snapshots.js";
import { runToEnd, tempDir, tinyConfig } from "./helpers/trainer-process.js";

const poisons = [
  ["NaN in a weight", "weights", Number.NaN],
  ["+Infinity in a weight", "weights", Number.POSITIVE_INFINITY],
  ["-Infinity in an optimizer moment", "optimizerTensors", Number.NEGATIVE_INFINITY],
] as const;

for (const [what, where, value] of poisons) {
  test(`a checkpoint with ${what} is refused at load as corrupt: quarantined, the previous one resumed`, async () => {
    const dir = join(await tempDir(), "ckpt");
    const config = tinyConfig({ totalSteps: 10, optimizer: "adam", checkpoint: { everySteps: 5, everySeconds: 0, keep: 3 } });
    assert.equal((await runToEnd({ config, checkpointDir: dir, attempt: 1 })).code, 0);

    // Step 11: the newest checkpoint's own tensors (right names, shapes, dtypes, valid digests)
    // with one value poisoned, so the finite check is the only thing that can refuse it.
    const newest = await store(dir).load(join(dir, checkpointDirName(10, 1)));
    const tensors = newest[where].map((t) => ({ ...t, data: t.data.slice() }));
    assert.ok(tensors.length > 0, `the checkpoint has ${where}`);
    tensors[0]!.data[0] = value;
    const poisoned: TrainingSnapshot = {
      weights: where === "weights" ? tensors : newest.weights,
      optimizerTensors: where === "optimizerTensors" ? tensors : newest.optimizerTensors,
      meta: { ...newest.manifest, step: 11 },
    };
    await store(dir).save(poisoned, 1);

    const result = await runToEnd({ config: { ...config, totalSteps: 12 }, checkpointDir: dir, attempt: 2 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.summary?.resumedFromStep, 10, "fell back to the finite checkpoint");
    assert.match((await readdir(join(dir, "quarantine")))[0]!, /^ckpt-00000011-a1-/, "the poisoned one set aside, not deleted");
    const why = JSON.stringify(result.lines.filter((l) => /quarantin/i.test(JSON.stringify(l))));
    assert.match(why, /holds NaN or infinite values/, `the log says why: ${why}`);
  });
}
