// A partitioned node keeps its trainer running — a zombie writing to the same
// volume. The next attempt proceeds; the zombie, still alive after the
// partition, sees the fence and exits 3, and nothing it wrote after its
// successor's claim is ever loaded. Every commit is recorded as it happens
// (commits.log, retention off), so the check does not depend on what is left.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readClaims } from "../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { useE2E } from "./harness.js";
import { assertBitIdentical, checkpointDir, currentPod, isPhase, pastStep } from "./expect.js";
import { trainerAttempts } from "./trainer-records.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: it partitions a node from the apiserver.
const e = useE2E();

interface Commit { dir: string; step: number; attempt: number | null; committedAt: string; fencedAfterRename: boolean }

describe("partition", { timeout: 1_200_000 }, () => {
  test("the zombie outlives the partition, sees the fence and exits 3; its successor never loads what it wrote", async () => {
    // Retention off (keep everything), so every commit stays inspectable. Long enough that
    // the zombie is still training when its successor claims the directory: the node is
    // declared lost only after the node monitor's grace and the pods' toleration (20 s
    // here), and the small model trains hundreds of steps a second on a fast machine (seen:
    // 600 steps done before the successor started, and the zombie simply completed). So long
    // by a pause between steps, whatever the machine: 2400 steps take at least 72 s, and the
    // successor claimed at about 35 s (step 900) here.
    const run0 = trainingRun("zombie", { training: { ...SMALL_TRAINING, totalSteps: 2400, stepDelayMs: 30, checkpoint: { everySteps: 50, everySeconds: 0, keep: 1000 } } });
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(run0));
    await e.waitRun("zombie", "training", pastStep(60));
    const pod = await currentPod(e, "zombie");
    const partitionedAt = Date.now();
    await e.kubectl(["annotate", "node", pod.spec!.nodeName!, "resumable.dev/fault=partition"]);
    // The pause is for the zombie alone (its pod keeps the config it started with): the
    // successor, rendered from the spec as it is now, trains the rest at full speed.
    await e.kubectl(["patch", "trainingrun", "zombie", "--type=merge", "-p", JSON.stringify({ spec: { training: { stepDelayMs: 0 } } })]);
    const run = await e.waitRun("zombie", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    await assertBitIdentical(run);

    const [zombie, successor] = trainerAttempts(e, "zombie");
    assert.ok(zombie && successor, "two attempts in the trainers' records");
    // The zombie trained on after the partition, then met the fence: its summary says
    // fenced (the protocol's exit 3).
    const stepsAfter = zombie.lines.filter((l) => l.msg === "step" && Number(l.time) > partitionedAt);
    assert.ok(stepsAfter.length > 0, "the zombie was still training after the partition");
    assert.equal((zombie.summary?.failure as { kind?: string } | undefined)?.kind, "fenced", `the zombie's summary: ${JSON.stringify(zombie.summary)}`);

    const volume = await checkpointDir(e, "zombie");
    const claims = await readClaims(volume);
    const claim = claims.find((c) => c.attempt === successor.attempt);
    assert.ok(claim, `attempt ${successor.attempt} claimed the directory: ${JSON.stringify(claims)}`);
    assert.equal(claim.resumedFromStep, successor.resumedFromStep, "the claim records where the successor resumed");
    assert.ok(successor.resumedFromStep <= (claim.newestStepAtClaim ?? -1), "the successor resumed from what existed when it claimed");

    const commits = readFileSync(join(volume, "commits.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Commit);
    const late = commits.filter((c) => c.attempt === zombie.attempt && c.step > (claim.newestStepAtClaim ?? -1));
    // Whatever the zombie committed past the claim's listing is never what was loaded. Its
    // fencedAfterRename flag is not asserted: it says whether the zombie's check after its
    // rename already met the claim, and a rename between the successor's listing and its claim
    // write lands unflagged yet superseded, as a rename just before the listing lands flagged
    // yet trusted (both are timing, and the loaders go by the claim's newest step alone).
    console.log(`zombie commits past the claim (newest then ${claim.newestStepAtClaim}): ${JSON.stringify(late.map((c) => [c.step, c.fencedAfterRename]))}`);
    const loaded = successor.lines.find((l) => l.msg === "resuming from checkpoint")?.checkpoint;
    assert.ok(typeof loaded === "string", "the successor logged which checkpoint it loaded");
    assert.ok(!late.some((c) => loaded.endsWith(`/${c.dir}`)), `the successor loaded ${loaded}, a zombie's late commit`);
    // What it loaded existed when it claimed (seen: ckpt-00000922-a1, renamed just before the
    // listing, loaded, and flagged by the zombie's check that met the claim).
    const source = commits.find((c) => loaded.endsWith(`/${c.dir}`));
    assert.ok(source, `loaded ${loaded} is in the commits log: ${JSON.stringify(commits.slice(-5))}`);
    assert.equal(source.step, successor.resumedFromStep, `loaded ${loaded} is the step it resumed from`);
    assert.ok(source.step <= (claim.newestStepAtClaim ?? -1), `loaded ${loaded} (step ${source.step}) existed when attempt ${successor.attempt} claimed (newest then: ${claim.newestStepAtClaim})`);
  });
});
