// everySteps: auto on the local cluster: the trainer picks its checkpoint interval from what
// its saves cost, and a hard node loss costs no more than that interval, by the trainers' own
// records, with the run still bit-identical to its uninterrupted twin.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useE2E } from "./harness.js";
import { assertBitIdentical, assertResumedFromNewestSave, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: a hard node loss stops a node's processes.
const e = useE2E();

describe("adaptive checkpoint interval", { timeout: 1_200_000 }, () => {
  test("a hard node loss of an auto run loses no more than the interval it reported, and resumes bit-identically", async () => {
    // 20 ms steps, a 2 s lost-work goal: an interval of tens of steps, not the 100s a fixed one has.
    const training = { ...SMALL_TRAINING, totalSteps: 600, stepDelayMs: 20, checkpoint: { everySteps: "auto", maxLostSeconds: 2, keep: 3 } };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("auto-lost", { training })));
    // Running, with a few of auto's saves behind it.
    await e.waitRun("auto-lost", "200 steps", pastStep(200));
    const node = (await currentPod(e, "auto-lost")).spec!.nodeName!;
    await e.kubectl(["annotate", "node", node, "resumable.dev/fault=hard-loss"]);
    const run = await e.waitRun("auto-lost", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const [first, second] = assertResumeRecorded(e, run, { graceful: false });
    // The first trainer's own log: every interval it chose, and the figures behind them.
    const chosen = first!.lines.filter((l) => l.msg === "checkpoint interval chosen");
    assert.ok(chosen.length >= 1, "the first trainer chose an interval before the loss");
    const interval = Math.max(...chosen.map((l) => Number(l.steps)));
    assert.ok(interval < 100, `auto chose ${interval} steps: shorter than the examples' fixed 100`);
    // What the trainer said a hard loss could cost: the interval and the write of a save in
    // flight (a loss just before its commit resumes from the save before it).
    const promised = Math.max(...chosen.map((l) => Number(l.lostSteps)));
    const lost = first!.reachedStep - second!.resumedFromStep;
    assert.ok(lost <= promised, `lost ${lost} steps by the trainers' records; the trainer reported at most ${promised}`);
    assertResumedFromNewestSave(first!, second!);
    await assertBitIdentical(run);
  });
});
