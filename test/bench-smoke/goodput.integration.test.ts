// The goodput harness of make bench (test/bench/_goodput.ts), small: the three systems under
// one seeded schedule, checked for correct accounting, never for timing. The seed is printed;
// GOODPUT_SMOKE_SEED reproduces a run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runGoodput } from "../bench/_goodput.js";

const seed = Number(process.env.GOODPUT_SMOKE_SEED ?? 11);

test("goodput harness: resumable loses no steps to graceful preemptions and ends bit-identical to its twin; every system's steps add up", { timeout: 15 * 60_000 }, async () => {
  console.log(`goodput smoke seed ${seed} (GOODPUT_SMOKE_SEED reproduces it)`);
  const r = await runGoodput({
    meanIntervalSeconds: 10, everySteps: 40, seed,
    // stepDelayMs (a test knob that changes no weight) keeps training going for about 40 s
    // however fast the machine: a 160-step run once finished in 10 s on a quiet machine,
    // before the schedule's second disruption.
    training: { model: "mlp", hiddenUnits: 16, dataset: "synthetic", syntheticExamples: 512, totalSteps: 400, stepDelayMs: 100, batchSize: 32, seed: 7, backend: "cpu" },
    nodesPerSystem: 3, reclaimShare: 0.5, maxSeconds: 600, maxDisruptions: 3,
    log: (l) => console.log(l),
  });
  const by = Object.fromEntries(r.systems.map((s) => [s.system, s]));
  const res = by.resumable!;
  assert.ok(res.completed, "the TrainingRun completed");
  assert.ok(res.preemptions > 0, `the schedule hit the TrainingRun (seed ${seed}): ${JSON.stringify(r.schedule)}`);
  assert.equal(res.lostSteps, 0, `no step lost to ${res.preemptions} graceful preemptions: ${JSON.stringify(res.attempts.map((a) => [a.resumedFrom, a.reached]))}`);
  // Exactly where the previous attempt stopped (step 0 when it was preempted while still loading).
  assert.ok(res.attempts.slice(1).every((a, i) => a.resumedFrom === res.attempts[i]!.reached), "every later attempt resumed where the previous one stopped");
  assert.ok(res.attempts.slice(1).some((a) => a.resumedFrom > 0), `at least one resume from a checkpoint, not only restarts at step 0 (seed ${seed})`);
  assert.equal(res.weightsSha256, r.twinSha256, "bit-identical to the uninterrupted twin");
  assert.equal(res.goodput, 1);
  for (const s of r.systems) {
    assert.equal(s.stepsComputed, s.usefulSteps + s.lostSteps, `${s.system}: computed = useful + lost`);
    assert.ok(s.goodput > 0 && s.goodput <= 1, `${s.system}: goodput ${s.goodput} is a share`);
    if (s.completed) assert.equal(s.weightsSha256, r.twinSha256, `${s.system}: a completed run ends on the twin's weights`);
  }
  const job = by["job-ckpt"]!;
  if (job.preemptions > 0 && job.completed) {
    assert.ok(job.attempts.length > 1, "the Job replaced its preempted pods (podFailurePolicy Ignore)");
  }
});
