// Ten runs at once across the nodes, each preempted at a random point:
// all Succeed, each bit-identical to its uninterrupted twin.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Prng } from "../../trainer/src/data/prng.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";

// A cluster of its own, not the shared one: its own node set.
const e = useE2E({ nodesFile: new URL("./fleet-nodes.json", import.meta.url).pathname });
const RUNS = 10;
// Where each run is evicted: seeded, printed, and reproducible with FLEET_SEED=<n>.
const SEED = Number(process.env.FLEET_SEED ?? Date.now() % 1_000_000);
console.log(`fleet: FLEET_SEED=${SEED}`);

describe(`fleet (FLEET_SEED=${SEED})`, { timeout: 2_400_000 }, () => {
  test("ten runs with random preemptions all succeed bit-identically", async () => {
    const names = Array.from({ length: RUNS }, (_, i) => `fleet-${i}`);
    // Five seeds: pairs of runs share a twin, so the check costs five local runs, not ten.
    const runs = names.map((name, i) => trainingRun(name, { training: { ...SMALL_TRAINING, totalSteps: 300, seed: i % 5 } }));
    await e.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: runs }));
    const random = Prng.fromSeed(SEED);
    // At least half the run left after the step the status shows: the eviction must find the
    // trainer still training. Up to step 229 of 300 (as before) left 71 steps, about a second
    // and a half, which the status's lag behind the trainer (a progress write a second, ten
    // runs on one operator) ate on a loaded CI machine: a run ended before its eviction.
    const evictAt = names.map(() => 30 + random.nextBelow(120));
    await Promise.all(names.map(async (name, i) => {
      const at = evictAt[i]!;
      await e.waitRun(name, `past step ${at}`, pastStep(at), 15 * 60_000);
      const pod = await currentPod(e, name);
      await e.core.createNamespacedPodEviction({
        name: pod.metadata!.name!, namespace: NAMESPACE,
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata!.name!, namespace: NAMESPACE } },
      });
    }));
    const nodes = new Set<string>();
    for (const name of names) {
      const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 15 * 60_000);
      assert.ok((run.status?.preemptions ?? 0) >= 1, `${name} was preempted`);
      assert.equal(run.status?.failures ?? 0, 0);
      assertResumeRecorded(e, run, { graceful: true });
      for (const a of run.status?.attempts ?? []) if (a.node) nodes.add(a.node);
      await assertBitIdentical(run);
    }
    assert.ok(nodes.size >= 2, `the attempts ran across the nodes, not on one: ${[...nodes]}`);
  });
});
