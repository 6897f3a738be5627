/**
 * A gang rank's environment and its share of each batch: RESUMABLE_RANK and
 * RESUMABLE_WORLD_SIZE come together or not at all, ranks > 0 need no checkpoint location, and
 * every rank gets a contiguous, non-empty slice of the global batch however unevenly it splits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { readEnv } from "../../trainer/src/config/env.js";
import { ConfigError } from "../../trainer/src/config-error.js";
import { gangBatchProblem, sliceOf } from "../../trainer/src/train/data-parallel.js";
import { runToEnd, tempDir, tinyConfig } from "./helpers/trainer-process.js";

test("environment: no rank and world size is a single pod, exactly as before", () => {
  assert.deepEqual(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c" }).gang, { rank: 0, worldSize: 1 });
});

test("environment: a gang's rank and world size are read, and bad ones are config errors naming the variable", () => {
  assert.deepEqual(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_RANK: "0", RESUMABLE_WORLD_SIZE: "3" }).gang, { rank: 0, worldSize: 3 });
  const refused: [Record<string, string>, RegExp][] = [
    [{ RESUMABLE_RANK: "1" }, /RESUMABLE_WORLD_SIZE is required with RESUMABLE_RANK/],
    [{ RESUMABLE_WORLD_SIZE: "2" }, /RESUMABLE_RANK is required with RESUMABLE_WORLD_SIZE/],
    [{ RESUMABLE_RANK: "3", RESUMABLE_WORLD_SIZE: "3" }, /RESUMABLE_RANK=3: expected a rank below RESUMABLE_WORLD_SIZE=3/],
    [{ RESUMABLE_RANK: "-1", RESUMABLE_WORLD_SIZE: "3" }, /RESUMABLE_RANK="-1": expected an integer >= 0/],
    [{ RESUMABLE_RANK: "0", RESUMABLE_WORLD_SIZE: "0" }, /RESUMABLE_WORLD_SIZE="0": expected an integer >= 1/],
    [{ RESUMABLE_RANK: "one", RESUMABLE_WORLD_SIZE: "2" }, /RESUMABLE_RANK="one"/],
  ];
  for (const [vars, message] of refused) {
    assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", ...vars }), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(vars));
  }
});

test("environment: ranks > 0 need no checkpoint location; rank 0 needs one as a single pod does", () => {
  assert.equal(readEnv({ RESUMABLE_RANK: "2", RESUMABLE_WORLD_SIZE: "3" }).checkpointLocation, undefined);
  assert.throws(() => readEnv({ RESUMABLE_RANK: "0", RESUMABLE_WORLD_SIZE: "3" }), /RESUMABLE_CHECKPOINT_DIR is required/);
  // One given to a rank > 0 anyway is still checked: a wrong pod spec is said, not ignored.
  assert.throws(() => readEnv({ RESUMABLE_RANK: "1", RESUMABLE_WORLD_SIZE: "3", RESUMABLE_CHECKPOINT_URL: "s3://ab/p" }), /the bucket "ab"/);
});

test("a bad gang environment exits 2 before training", async () => {
  const dir = join(await tempDir(), "ckpt");
  const result = await runToEnd({ config: tinyConfig(), checkpointDir: dir, env: { RESUMABLE_RANK: "5", RESUMABLE_WORLD_SIZE: "2" } });
  assert.equal(result.code, 2, result.stderr);
  assert.ok(result.lines.some((l) => typeof l.msg === "string" && l.msg.includes("RESUMABLE_RANK=5")));
});

test("slices: contiguous, covering the batch once, never empty, uneven splits allowed (64 on 3)", () => {
  assert.deepEqual(
    [0, 1, 2].map((r) => sliceOf(r, 3, 64)),
    [
      { start: 0, end: 21 },
      { start: 21, end: 42 },
      { start: 42, end: 64 },
    ],
  );
  for (const [size, worldSize] of [
    [16, 3],
    [7, 7],
    [100, 8],
    [5, 1],
  ] as const) {
    let next = 0;
    for (let r = 0; r < worldSize; r++) {
      const { start, end } = sliceOf(r, worldSize, size);
      assert.equal(start, next, `${size} on ${worldSize}: rank ${r} starts where rank ${r - 1} ended`);
      assert.ok(end > start, `${size} on ${worldSize}: rank ${r} has rows`);
      next = end;
    }
    assert.equal(next, size);
  }
  assert.match(gangBatchProblem(2, 3)!, /batchSize 2 is smaller than the gang's 3 ranks/);
  assert.equal(gangBatchProblem(3, 3), undefined);
});
