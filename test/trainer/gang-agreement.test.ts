/**
 * What one rank asks, the whole gang does at the same step: SIGTERM on one rank stops every
 * rank after the same step with rank 0's final checkpoint (and the resumed gang loses nothing
 * and ends bit-identical), a checkpoint request on one rank makes rank 0 commit that step, and
 * a lost peer ends every rank with exit 7 and nothing saved. In one process, with the FakeGang.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { lostStepsOf } from "@resumable/protocol";
import { store } from "./helpers/snapshots.js";
import { reclaimNotice, runGangAttempt, sigtermAfter, type RankRecord } from "./helpers/gang-run.js";
import { tempDir, tinyConfig } from "./helpers/trainer-process.js";

const totalSteps = 12;
const config = tinyConfig({ totalSteps, checkpoint: { everySteps: 4, everySeconds: 0, keep: 3 } });

function highestStep(ranks: RankRecord[]): number {
  return Math.max(...ranks.flatMap((r) => r.lines.filter((l) => l.msg === "step").map((l) => l.step!)));
}

test("a gang of 3 stopped by SIGTERM on rank 2 and resumed is bit-identical to an uninterrupted gang of 3, losing no step", async () => {
  const reference = await runGangAttempt({ worldSize: 3, config, dir: join(await tempDir(), "ckpt"), attempt: 1 });
  const dir = join(await tempDir(), "ckpt");
  const stopAt = 7;
  // The signal lands on rank 2 after step 6: its next contribution asks the gang to stop after step 7.
  const first = await runGangAttempt({ worldSize: 3, config, dir, attempt: 1, onLine: sigtermAfter(2, stopAt - 1) });
  for (const r of first) {
    assert.equal(r.exitCode, 143, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
    assert.equal(r.summary.reason, "preempted");
    assert.equal(r.summary.step, stopAt, `rank ${r.rank} stopped after the agreed step`);
    assert.equal((r.summary.checkpoint as { step: number }).step, stopAt, `rank ${r.rank} reports rank 0's final checkpoint`);
  }
  assert.equal((await store(dir).list())[0]?.step, stopAt);

  const second = await runGangAttempt({ worldSize: 3, config, dir, attempt: 2 });
  for (const r of second) {
    assert.equal(r.exitCode, 0, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
    assert.equal(r.summary.resumedFromStep, stopAt, `rank ${r.rank}'s summary`);
    assert.equal(r.progress?.resumedFromStep, stopAt, `rank ${r.rank}'s progress`);
    const lost = lostStepsOf({ attempt: 1, reachedStep: highestStep(first) }, { attempt: 2, resumedFromStep: r.summary.resumedFromStep as number });
    assert.equal(lost, 0, `rank ${r.rank} trained no step again`);
    assert.equal(r.summary.weightsSha256, reference[0]!.summary.weightsSha256, `rank ${r.rank}'s weights are the uninterrupted gang's`);
    assert.equal(r.summary.loss, reference[0]!.summary.loss);
  }
});

test("a checkpoint request on rank 1 makes rank 0 commit that step and report it as an early checkpoint", async () => {
  const dir = join(await tempDir(), "ckpt");
  // No periodic saves: the requested one is the only one before the final.
  const quiet = tinyConfig({ totalSteps, checkpoint: { everySteps: 0, everySeconds: 0, keep: 3 } });
  const ranks = await runGangAttempt({
    worldSize: 3,
    config: quiet,
    dir,
    attempt: 1,
    onLine: (rank, line, controls) => {
      if (rank === 1 && line.msg === "step" && line.step === 4) controls[1]!.requests.pending = reclaimNotice("reclaim-1");
    },
  });
  for (const r of ranks) assert.equal(r.exitCode, 0, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
  // Asked after step 4, it rode on step 5's all-reduce: every rank saved step 5.
  assert.deepEqual(
    (await store(dir).list()).map((c) => c.step),
    [totalSteps, 5],
  );
  assert.deepEqual(ranks[0]!.progress?.earlyCheckpoint && { id: ranks[0]!.progress.earlyCheckpoint.requestId, step: ranks[0]!.progress.earlyCheckpoint.step }, { id: "reclaim-1", step: 5 });
  assert.ok(ranks[0]!.lines.some((l) => l.msg === "early checkpoint committed on request" && l.step === 5));
});

test("a lost peer ends every rank with exit 7 (peerLost) and nothing saved from that step on", async () => {
  const dir = join(await tempDir(), "ckpt");
  const lostAtStep = 6; // rank 1's sixth all-reduce of the attempt: the one of step 6
  const ranks = await runGangAttempt({ worldSize: 3, config, dir, attempt: 1, loseAt: { rank: 1, allReduce: lostAtStep - 1 } });
  for (const r of ranks) {
    assert.equal(r.exitCode, 7, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
    assert.equal((r.summary.failure as { kind: string }).kind, "peerLost");
    assert.equal(r.summary.step, lostAtStep - 1, `rank ${r.rank} trained no step past the loss`);
  }
  const steps = (await store(dir).list()).map((c) => c.step);
  assert.ok(
    steps.every((s) => s < lostAtStep),
    `no checkpoint of step ${lostAtStep} or later: ${steps.join(", ")}`,
  );
  assert.ok(!ranks[0]!.lines.some((l) => l.msg === "checkpoint save started" && l.step! >= lostAtStep), "rank 0 started no save after the loss");
});

test("a gang resumes a checkpoint written by a gang of another size, and says so", async () => {
  const dir = join(await tempDir(), "ckpt");
  const first = await runGangAttempt({ worldSize: 2, config, dir, attempt: 1, onLine: sigtermAfter(1, 4) });
  assert.deepEqual(
    first.map((r) => r.exitCode),
    [143, 143],
  );
  const second = await runGangAttempt({ worldSize: 3, config, dir, attempt: 2 });
  for (const r of second) {
    assert.equal(r.exitCode, 0, `rank ${r.rank}: ${JSON.stringify(r.summary)}`);
    assert.equal(r.summary.resumedFromStep, 5);
  }
  assert.ok(second[0]!.lines.some((l) => l.msg?.startsWith("checkpoint written by 2 rank(s), resumed by 3") && l.writtenBy === 2));
  const digests = new Set(second.map((r) => r.summary.weightsSha256));
  assert.equal(digests.size, 1, "every rank of the new gang holds rank 0's restored state, trained the same");
});
