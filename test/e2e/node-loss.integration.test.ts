// A node lost without warning: the operator does not wait on the pod stuck
// Terminating; the next attempt resumes from the last periodic checkpoint
// and the steps since it are counted as lost. Still bit-identical.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useE2E } from "./harness.js";
import { assertBitIdentical, assertResumedFromNewestSave, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: it loses nodes.
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
    assertResumedFromNewestSave(first!, second!);
    await assertBitIdentical(run);
  });
});
