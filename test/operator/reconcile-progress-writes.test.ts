// Progress-only status changes are coalesced (operator/src/reconcile/progress-writes.ts): at
// most one write per interval while only progress changes, the newest report written when the
// interval ends, anything else written at once with the newest progress. A write is what the
// runtime would send: a non-empty merge patch between the observed and the decided status.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { mergePatchBetween } from "../../operator/src/controller/merge-patch.js";
import type { Decision } from "../../operator/src/model/types.js";
import type { OperatorSettings } from "../../operator/src/model/settings.js";
import { FakeClock, SETTINGS, aPod, aRun, afterWrite, pass, running, startedStatus } from "./reconcile-fixtures.js";

const EVERY_15S: OperatorSettings = { ...SETTINGS, progressWriteIntervalSeconds: 15 };
const EVERY_REPORT: OperatorSettings = { ...SETTINGS, progressWriteIntervalSeconds: 0 };

const report = (step: number, extra: Record<string, unknown> = {}) => ({ step, totalSteps: 600, epoch: 0, loss: 0.5, resumedFromStep: 0, ...extra });
const reporting = (step: number, extra: Record<string, unknown> = {}) => running(1, { progress: report(step, extra) });

/** A run driven pass by pass, as the runtime would: the status is written only when it changed. */
class Driver {
  run: TrainingRun = aRun({}, startedStatus(1));
  writes = 0;
  readonly clock = new FakeClock();
  constructor(private readonly settings: OperatorSettings = EVERY_15S) {}

  /** One pass `seconds` after the last; true when its status is written. */
  pass(seconds: number, pod: V1Pod): { decision: Decision; wrote: boolean } {
    const decision = pass(this.run, [pod], this.clock.advance(seconds), {}, this.settings);
    const wrote = mergePatchBetween(this.run.status ?? {}, decision.status) !== undefined;
    if (wrote) {
      this.writes++;
      this.run = afterWrite(this.run, decision);
    }
    return { decision, wrote };
  }
}

describe("reconcile: progress writes are coalesced", () => {
  it("a burst of reports within the interval makes one status write; the held passes leave the status as observed", () => {
    const driver = new Driver();
    assert.ok(driver.pass(0, reporting(100)).wrote, "the first report is written at once");
    const writtenAt = driver.clock.now().toISOString();
    for (const [i, step] of [130, 160, 190, 220].entries()) {
      const { decision, wrote } = driver.pass(3, reporting(step));
      assert.equal(wrote, false, `report ${step} is held`);
      assert.deepEqual(decision.status, driver.run.status, "held: the status exactly as observed");
      assert.equal(decision.requeueAfterMs, 15_000 - 3_000 * (i + 1), "a look again when the interval ends");
    }
    assert.equal(driver.writes, 1);
    assert.equal(driver.run.status?.progress?.step, 100);
    assert.equal(driver.run.status?.progress?.recordedAt, writtenAt);
  });

  it("when the interval ends the newest report is written without waiting for another", () => {
    const driver = new Driver();
    driver.pass(0, reporting(100));
    const held = driver.pass(4, reporting(140));
    assert.equal(held.wrote, false);
    assert.equal(held.decision.requeueAfterMs, 11_000);
    // The requeued pass: the same annotation, no new report.
    const due = driver.pass(11, reporting(140));
    assert.ok(due.wrote, "written when the interval ends");
    assert.equal(driver.run.status?.progress?.step, 140);
    assert.equal(driver.run.status?.attempts?.[0]?.reachedStep, 140);
    assert.equal(driver.run.status?.progress?.recordedAt, driver.clock.now().toISOString());
    assert.equal(due.decision.requeueAfterMs, undefined, "nothing is left to write");
    // The next interval counts from this write.
    const next = driver.pass(2, reporting(160));
    assert.equal(next.wrote, false);
    assert.equal(next.decision.requeueAfterMs, 13_000);
  });

  const changes: Record<string, { pod: V1Pod; check: (run: TrainingRun) => void }> = {
    "the pod stopping (phase Restarting)": {
      pod: running(1, { progress: report(160), deletedAt: "2026-11-28T12:00:06Z" }),
      check: (run) => assert.equal(run.status?.phase, "Restarting"),
    },
    "a checkpoint": {
      pod: reporting(160, { checkpoint: { step: 150, time: "2026-11-28T12:00:05.000Z", bytes: 10, reason: "periodic" } }),
      check: (run) => assert.equal(run.status?.lastCheckpoint?.step, 150),
    },
    "the run's end (the trainer's summary)": {
      pod: aPod(1, { phase: "Succeeded", node: "spot-1", exitCode: 0, progress: report(150), summary: { reason: "completed", step: 160, totalSteps: 600, resumedFromStep: 0 } }),
      check: (run) => assert.equal(run.status?.phase, "Succeeded"),
    },
  };
  for (const [what, { pod, check }] of Object.entries(changes)) {
    it(`${what} within the interval is written at once, with the newest step`, () => {
      const driver = new Driver();
      driver.pass(0, reporting(100));
      assert.equal(driver.pass(4, reporting(140)).wrote, false, "a progress-only report is held");
      assert.ok(driver.pass(2, pod).wrote, "written at once");
      check(driver.run);
      assert.equal(driver.run.status?.progress?.step, 160);
      assert.equal(driver.run.status?.attempts?.[0]?.reachedStep, 160);
      assert.equal(driver.run.status?.progress?.recordedAt, driver.clock.now().toISOString(), "the interval counts from this write");
    });
  }

  it("interval 0 writes every report (where 15 s writes one)", () => {
    const steps = [100, 130, 160, 190, 220];
    const everyReport = new Driver(EVERY_REPORT);
    const coalesced = new Driver(EVERY_15S);
    for (const step of steps) {
      assert.ok(everyReport.pass(3, reporting(step)).wrote, `report ${step} written`);
      coalesced.pass(3, reporting(step));
    }
    assert.equal(everyReport.writes, steps.length);
    assert.equal(coalesced.writes, 1);
    assert.equal(everyReport.run.status?.progress?.step, 220);
  });

  it("a status without recordedAt (an older operator's) or with one from the future holds nothing, so no write waits forever", () => {
    for (const recordedAt of [undefined, "2026-11-28T13:00:00.000Z"]) {
      const driver = new Driver();
      driver.pass(0, reporting(100));
      const progress = { ...driver.run.status!.progress!, recordedAt };
      if (recordedAt === undefined) delete progress.recordedAt;
      driver.run = { ...driver.run, status: { ...driver.run.status, progress } };
      const next = driver.pass(3, reporting(130));
      assert.ok(next.wrote, `recordedAt ${recordedAt}: written at once`);
      assert.equal(driver.run.status?.progress?.recordedAt, driver.clock.now().toISOString());
    }
  });

  it("a run not Running writes every report: a stopping trainer may take its pod away before the interval ends", () => {
    const driver = new Driver();
    driver.pass(0, running(1, { progress: report(100), deletedAt: "2026-11-28T12:00:00Z" }));
    assert.equal(driver.run.status?.phase, "Restarting");
    const next = driver.pass(3, running(1, { progress: report(110), deletedAt: "2026-11-28T12:00:00Z" }));
    assert.ok(next.wrote);
    assert.equal(driver.run.status?.progress?.step, 110);
  });
});
