// The gang-vs-JobSet benchmark's arithmetic (test/bench/_gang-vs-jobset-report.ts), without a
// cluster: the seeded schedule, and what a disruption cost from hand-made trainer records.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gangSchedule, outcomeOf, ratio, trainingAgainAt, trainingRate, wallSeconds, type GangAttempt, type Hit } from "../bench/_gang-vs-jobset-report.js";

const rank = (r: number, resumedFrom: number, reached: number, firstStepAt: number | undefined, lastAt: number, completed = false) =>
  ({ rank: r, resumedFrom, reached, lastAt, completed, ...(firstStepAt === undefined ? {} : { firstStepAt }) });

describe("gang-vs-jobset schedule", () => {
  test("the same seed gives the same schedule: an eviction in 20-35 % of the run, then a hard loss in 55-70 %, of a rank that exists", () => {
    for (const seed of [1, 7, 12345, 2 ** 31 - 1]) {
      const s = gangSchedule(seed, 600, 3);
      assert.deepEqual(gangSchedule(seed, 600, 3), s, `seed ${seed} reproduces`);
      assert.deepEqual(s.map((h) => h.kind), ["evict", "hard-loss"]);
      assert.ok(s[0]!.atStep >= 120 && s[0]!.atStep <= 210, `seed ${seed}: eviction at ${s[0]!.atStep}`);
      assert.ok(s[1]!.atStep >= 330 && s[1]!.atStep <= 420, `seed ${seed}: hard loss at ${s[1]!.atStep}`);
      for (const h of s) assert.ok(Number.isInteger(h.rank) && h.rank >= 0 && h.rank < 3, `seed ${seed}: rank ${h.rank}`);
    }
  });

  test("a schedule that cannot be played is refused with what is wrong", () => {
    assert.throws(() => gangSchedule(1, 10, 3), /totalSteps must be an integer of at least 20, got 10/);
    assert.throws(() => gangSchedule(1, 600, 1), /a gang needs at least 2 workers, got 1/);
  });
});

describe("gang-vs-jobset report", () => {
  const hit: Hit = { kind: "evict", atStep: 100, rank: 1, at: 10_000, attempt: 1 };

  test("the gang trains again when its last rank computes its first step; lost steps are the hit attempt's reach minus the resume", () => {
    const attempts: GangAttempt[] = [
      { attempt: 1, ranks: [rank(0, 0, 104, 1000, 10_100), rank(1, 0, 104, 1100, 10_050)] },
      { attempt: 2, ranks: [rank(0, 100, 300, 14_000, 20_000, true), rank(1, 100, 300, 15_500, 20_100, true)] },
    ];
    const o = outcomeOf(hit, attempts, 2);
    assert.equal(o.recoverySeconds, 5.5, "from the hit to rank 1's first step of attempt 2");
    assert.equal(o.lostSteps, 4, "104 reached, resumed from 100");
    assert.equal(wallSeconds(attempts, 0, 2), 20.1);
  });

  test("an attempt in between that never trained on every rank is skipped: its time counts, it lost nothing itself", () => {
    const attempts: GangAttempt[] = [
      { attempt: 1, ranks: [rank(0, 0, 150, 1000, 10_000), rank(1, 0, 150, 1000, 10_000)] },
      { attempt: 2, ranks: [rank(0, 100, 100, undefined, 12_000)] },
      { attempt: 3, ranks: [rank(0, 100, 200, 18_000, 30_000), rank(1, 100, 200, 19_000, 30_000)] },
    ];
    assert.equal(trainingAgainAt(attempts[1]!, 2), undefined);
    const o = outcomeOf(hit, attempts, 2);
    assert.equal(o.recoverySeconds, 9);
    assert.equal(o.lostSteps, 50);
    assert.equal(wallSeconds(attempts, 0, 2), undefined, "the last attempt did not complete");
  });

  test("a resume at the step the gang stopped loses nothing; no later attempt leaves both unknown", () => {
    const attempts: GangAttempt[] = [
      { attempt: 1, ranks: [rank(0, 0, 104, 1000, 10_100)] },
      { attempt: 2, ranks: [rank(0, 104, 300, 12_000, 20_000, true)] },
    ];
    assert.equal(outcomeOf(hit, attempts, 1).lostSteps, 0);
    const alone = outcomeOf(hit, attempts.slice(0, 1), 1);
    assert.equal(alone.recoverySeconds, undefined);
    assert.equal(alone.lostSteps, undefined);
  });

  test("ratios: a number when both are, and words when the JobSet's is 0 or one is missing", () => {
    assert.equal(ratio(3, 12), "0.25");
    assert.equal(ratio(0, 37), "0.00");
    assert.equal(ratio(0, 0), "equal (0 and 0)");
    assert.equal(ratio(5, 0), "5 vs 0");
    assert.equal(ratio(undefined, 3), "n/a");
  });

  test("the training rate counts rank 0's steps between its first and last step lines, over every attempt", () => {
    const attempts: GangAttempt[] = [
      // 0 -> 51: step lines 1..51, 50 steps between the first and the last, in 10 s.
      { attempt: 1, ranks: [{ ...rank(0, 0, 51, 1000, 12_000), lastStepAt: 11_000 }, rank(1, 0, 51, 1000, 12_000)] },
      { attempt: 2, ranks: [{ ...rank(0, 40, 71, 20_000, 31_000), lastStepAt: 30_000 }] },
      { attempt: 3, ranks: [rank(0, 71, 71, undefined, 40_000)] },
    ];
    assert.equal(trainingRate(attempts), 80 / 20);
    assert.equal(trainingRate([]), undefined);
  });
});
