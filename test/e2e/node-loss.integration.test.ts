// A node lost without warning: the operator does not wait on the pod stuck
// Terminating; the next attempt resumes from the last periodic checkpoint
// and the steps since it are counted as lost. Still bit-identical.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E();

describe("hard node loss", { timeout: 1_200_000 }, () => {
  test("resumes from the last periodic checkpoint; lostSteps counts the steps since it", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("lost")));
    await e.waitRun("lost", "training", pastStep(120));
    const node = (await currentPod(e, "lost")).spec!.nodeName!;
    await e.kubectl(["annotate", "node", node, "resumable.dev/fault=hard-loss"]);
    const run = await e.waitRun("lost", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const [first, second] = assertResumeRecorded(e, run, { graceful: false });
    assert.equal(first!.summary, undefined, "the first trainer was killed, it wrote no summary");
    // Periodic saves are due every 50 steps, but one due while the previous is still being
    // written starts at the next step after it (201, not 200): the first trainer's own log
    // says which saves it started and which it saw committed.
    const steps = (msg: string) => first!.lines.filter((l) => l.msg === msg).map((l) => Number(l.step));
    const committed = steps("checkpoint committed");
    const started = steps("checkpoint save started");
    const newestCommitted = Math.max(...committed);
    assert.ok(committed.length >= 1, `the first trainer committed a periodic checkpoint before the loss: ${committed.join(", ")}`);
    // Never an older one than the newest committed; at most the save in flight when the node
    // died, whose commit reached the volume before its log line could.
    assert.ok(
      second!.resumedFromStep === newestCommitted || (second!.resumedFromStep === started.at(-1) && second!.resumedFromStep > newestCommitted),
      `resumed from step ${second!.resumedFromStep}: the newest committed checkpoint was step ${newestCommitted}, the last save started at ${started.at(-1)}`,
    );
    await assertBitIdentical(run);
  });
});
