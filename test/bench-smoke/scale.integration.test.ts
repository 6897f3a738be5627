// The scale harness of make bench-scale (test/bench/_scale.ts), small: 50 runs on KWOK nodes
// with the real operator, checked for correctness, never for timing: every run gets its first
// pod, progress reports every 3 s make fewer status writes than reports (the operator
// coalesces progress-only changes, 15 s by default), a reclaim wave gives every affected run
// exactly one preemption and a next pod, and no other run is touched. Then its gang mode: 6
// gangs of 4 all form, and every gang the wave hits trains again. Builds KWOK
// (test/kwok/build.sh) when the cache lacks it.
// SCALE_SMOKE_SEED reproduces the wave.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScale } from "../bench/_scale.js";
import { runGangScale } from "../bench/_scale-gang.js";

const seed = Number(process.env.SCALE_SMOKE_SEED ?? 5);

test("scale harness: 50 runs on KWOK nodes all start; progress writes are coalesced; a reclaim wave preempts each affected run once and no other", { timeout: 30 * 60_000 }, async () => {
  console.log(`scale smoke seed ${seed} (SCALE_SMOKE_SEED reproduces it)`);
  const r = await runScale({ runs: 50, nodes: 20, reclaimShare: 0.2, steadySeconds: 30, progressSeconds: 3, seed, log: (l) => console.log(l) });
  assert.equal(r.apply.firstPod.n, 50, "every run got its first pod");
  assert.ok(r.apply.reconcileHistogram.n >= 50, "the operator's reconcile histogram counted every run");
  // Counts, not timings: the operator's write histogram saw every first pod's create.
  assert.ok(r.apply.operatorWrites.createPod.n >= 50, `the operator timed every pod create (${r.apply.operatorWrites.createPod.n})`);
  assert.ok(Object.keys(r.apply.machineCpu.byProcess).includes("operator"), "the machine's CPU is broken down by process, the operator among them");
  assert.ok(r.wave.affectedRuns > 0, `the wave hit some runs (seed ${seed})`);
  assert.equal(r.wave.nextPod.n, r.wave.affectedRuns, "every affected run got its next pod");
  assert.deepEqual(r.wave.missed, [], "no affected run missed (each has preemptions = 1)");
  assert.deepEqual(r.wave.countedTwice, [], "no run counted twice");
  assert.deepEqual(r.wave.placedOnReclaimed, [], "no replacement placed on a node being reclaimed");
  assert.deepEqual(r.wave.unaffectedPreempted, [], "no unaffected run preempted");
  assert.ok(r.steady.progressPatchesPerSecond > 0, "progress was reported");
  // Rates over the same window: a ratio of counts, not a timing.
  assert.ok(r.steady.statusWritesPerSecond < r.steady.progressPatchesPerSecond,
    `progress writes coalesced: ${r.steady.statusWritesPerSecond.toFixed(2)} status writes/s for ${r.steady.progressPatchesPerSecond.toFixed(2)} reports/s`);
});

test("scale harness, gangs: 6 gangs of 4 on KWOK nodes all form with their peers published; every gang a reclaim wave hits trains again", { timeout: 30 * 60_000 }, async () => {
  console.log(`scale smoke seed ${seed} (SCALE_SMOKE_SEED reproduces it)`);
  const r = await runGangScale({ gangs: 6, workers: 4, nodes: 12, reclaimShare: 0.25, gangTimeoutSeconds: 60, seed, log: (l) => console.log(l) });
  assert.equal(r.formed.n, 6, "every gang's first attempt ran every rank with its peers");
  assert.ok(r.wave.affectedGangs > 0, `the wave hit some gangs (seed ${seed})`);
  assert.deepEqual(r.wave.missed, [], "no affected gang was left without a next attempt training");
  assert.equal(r.wave.trainingAgain.n, r.wave.affectedGangs, "every affected gang's next attempt trained");
  assert.ok(r.rssMb > 0, "the operator's RSS was sampled");
});
