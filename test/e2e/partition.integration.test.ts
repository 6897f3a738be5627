// A partitioned node keeps its trainer running — a zombie writing to the
// same volume. The next attempt proceeds, and the zombie never commits a
// checkpoint after it has been superseded (fencing).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { useE2E } from "./harness.js";
import { assertBitIdentical, checkpointDir, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E();

describe("partition", { timeout: 1_200_000 }, () => {
  test("the next attempt proceeds and the zombie never commits", async () => {
    // Long enough that the zombie is still training when attempt 2 finishes.
    const run0 = trainingRun("zombie");
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(run0));
    await e.waitRun("zombie", "training", pastStep(60));
    const pod = await currentPod(e, "zombie");
    await e.kubectl(["annotate", "node", pod.spec!.nodeName!, "resumable.dev/fault=partition"]);
    const run = await e.waitRun("zombie", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    await assertBitIdentical(run);
    // Every committed checkpoint's manifest names the attempt that wrote it;
    // none written by attempt 1 after attempt 2 claimed the directory.
    const volume = await checkpointDir(e, "zombie");
    const fenceTime = statSync(join(volume, "fence")).mtimeMs;
    for (const entry of readdirSync(volume).filter((d) => d.startsWith("ckpt-"))) {
      const manifest = JSON.parse(readFileSync(join(volume, entry, "manifest.json"), "utf8")) as { attempt?: number };
      const committedAt = statSync(join(volume, entry)).mtimeMs;
      if (manifest.attempt === 1) assert.ok(committedAt <= fenceTime, `${entry} was committed by the zombie after the fence`);
    }
  });
});
