// A spot reclaim with graceful node shutdown: SIGTERM, final checkpoint,
// the node deleted — resumed elsewhere, no steps lost, bit-identical.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: a reclaim deletes a node.
const e = useE2E();

describe("spot reclaim", { timeout: 1_200_000 }, () => {
  test("graceful node shutdown is a preemption with no lost steps", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("reclaimed")));
    await e.waitRun("reclaimed", "training", pastStep(100));
    const node = (await currentPod(e, "reclaimed")).spec!.nodeName!;
    await e.kubectl(["annotate", "node", node, "resumable.dev/fault=spot-reclaim"]);
    const run = await e.waitRun("reclaimed", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0);
    assert.equal(run.status?.attempts?.[0]?.endReason, "Preempted");
    const [first] = assertResumeRecorded(e, run, { graceful: true });
    assert.equal(first!.summary?.reason, "preempted", "the reclaimed trainer flushed and said so");
    await assertBitIdentical(run);
  });
});
