// The goodput harness of make bench (test/bench/_goodput.ts), small: the four systems under
// one seeded schedule (a graceful node reclaim, then a hard node loss, then an eviction),
// checked for correct accounting from the trainers' own records, never for timing. The seed
// is printed; GOODPUT_SMOKE_SEED reproduces a run's schedule.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runGoodput } from "../bench/_goodput.js";
import { isGraceful, type SystemResult } from "../bench/_goodput-records.js";
import { systemTable } from "../bench/_goodput-report.js";

// Seed 185 at T = 20 s draws a reclaim at 31 s and a hard loss at 60 s: late enough that the
// pods have computed steps, the second after the first one's replacements are training again.
const seed = Number(process.env.GOODPUT_SMOKE_SEED ?? 185);
const EVERY = 40;

test("goodput harness: the trainer's flush alone loses nothing to a graceful preemption, a hard loss at most the interval; every system's steps add up", { timeout: 15 * 60_000 }, async () => {
  console.log(`goodput smoke seed ${seed} (GOODPUT_SMOKE_SEED reproduces it)`);
  const r = await runGoodput({
    meanIntervalSeconds: 20, everySteps: EVERY, seed,
    // stepDelayMs (a test knob that changes no weight) keeps training going for about 50 s
    // however fast the machine: a 160-step run once finished in 10 s on a quiet machine,
    // before the schedule's second disruption.
    training: { model: "mlp", hiddenUnits: 16, dataset: "synthetic", syntheticExamples: 512, totalSteps: 500, stepDelayMs: 100, batchSize: 32, seed: 7, backend: "cpu" },
    nodesPerSystem: 3, shares: { reclaim: 0.4, hardLoss: 0.3 }, maxSeconds: 600, maxDisruptions: 3,
    log: (l) => console.log(l),
  });
  console.log(systemTable(r));
  const by = Object.fromEntries(r.systems.map((s) => [s.system, s]));
  const trace = (s: SystemResult) => JSON.stringify({ schedule: r.schedule, hits: s.disruptions, attempts: s.attempts.map((a) => [a.pod, a.resumedFrom, a.reached]) });
  assert.deepEqual(r.systems.map((s) => s.system), ["resumable", "job-flush", "job-ckpt", "job-none"], "the new baseline runs beside the others");

  const res = by.resumable!;
  assert.ok(res.completed, "the TrainingRun completed");
  assert.ok(res.preemptions > 0, `the schedule hit the TrainingRun (seed ${seed}): ${trace(res)}`);
  assert.equal(res.weightsSha256, r.twinSha256, "bit-identical to the uninterrupted twin");

  // The Job with the trainer's SIGTERM flush: what a team gets from the trainer protocol alone.
  const flush = by["job-flush"]!;
  assert.ok(flush.completed, `the Job with the flush completed: ${trace(flush)}`);
  assert.ok(flush.disruptions.some(isGraceful), `a graceful preemption hit the Job with the flush (seed ${seed}): ${trace(flush)}`);
  for (const s of [res, flush]) {
    for (const d of s.disruptions.filter(isGraceful)) assert.equal(d.lostSteps, 0, `${s.system}: no step lost to the ${d.kind} of ${d.pod}: ${trace(s)}`);
  }
  assert.ok(flush.attempts.slice(1).some((a) => a.resumedFrom > 0), `the Job resumed from a checkpoint, not only from step 0 (seed ${seed}): ${trace(flush)}`);

  // A hard loss gives no SIGTERM: the next pod resumes from the newest committed checkpoint, so
  // it loses at most the steps since it, which are at most the interval (one more interval when
  // the loss came while the next save was still being written).
  const hard = (["resumable", "job-flush", "job-ckpt"] as const).flatMap((s) => by[s]!.disruptions.filter((d) => !isGraceful(d) && d.lostSteps !== undefined).map((d) => ({ ...d, system: s })));
  assert.ok(hard.some((d) => d.uncommittedSteps > 0), `a hard loss hit a pod that had trained past its checkpoint (seed ${seed}): ${JSON.stringify(hard)}`);
  for (const d of hard) {
    assert.ok(d.lostSteps! <= d.uncommittedSteps, `${d.system}: the hard loss of ${d.pod} lost ${d.lostSteps} steps, more than the ${d.uncommittedSteps} past its newest committed checkpoint`);
    assert.ok(d.uncommittedSteps <= (d.saveInFlight ? 2 : 1) * EVERY, `${d.system}: ${d.uncommittedSteps} steps past the newest committed checkpoint with one every ${EVERY}`);
  }

  for (const s of r.systems) {
    assert.equal(s.stepsComputed, s.usefulSteps + s.lostSteps, `${s.system}: computed = useful + lost`);
    assert.ok(s.goodput > 0 && s.goodput <= 1, `${s.system}: goodput ${s.goodput} is a share`);
    if (s.completed) assert.equal(s.weightsSha256, r.twinSha256, `${s.system}: a completed run ends on the twin's weights`);
    if (s.preemptions > 0 && s.completed && s.system !== "resumable") {
      assert.ok(s.attempts.length > 1, `${s.system}: the Job replaced its preempted pods (podFailurePolicy Ignore)`);
    }
  }
});
