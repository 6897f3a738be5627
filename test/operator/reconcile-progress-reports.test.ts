// A trainer that cannot report its progress (its ServiceAccount may not patch its pod)
// shows as a condition that names the cause, not as a step column that stays empty.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { DEFAULT_SETTINGS } from "../../operator/src/model/settings.js";
import { FakeClock, T0, aRun, afterWrite, pass, running, startedStatus } from "./reconcile-fixtures.js";

const TIMEOUT_S = DEFAULT_SETTINGS.progressReportTimeoutSeconds;

/** The pod of attempt 1, its trainer running since T0. */
function trainerRunning(progress?: Record<string, unknown>): V1Pod {
  const pod = running(1, progress ? { progress } : {});
  pod.spec = { ...pod.spec!, serviceAccountName: "resumable-trainer" };
  pod.status!.containerStatuses![0]!.state = { running: { startedAt: T0 } };
  return pod;
}

const condition = (d: ReturnType<typeof pass>) => d.status.conditions?.find((c) => c.type === "ProgressReported");

describe("reconcile: a trainer that does not report progress", () => {
  it("before the timeout: no condition yet, and a requeue for when it is due", () => {
    const clock = new FakeClock();
    const d = pass(aRun({}, startedStatus(1)), [trainerRunning()], clock.advance(10));
    assert.equal(condition(d), undefined);
    assert.equal(d.requeueAfterMs, (TIMEOUT_S - 10) * 1000);
  });

  it("after the timeout: ProgressReported=False NoProgressReports naming the pod, its ServiceAccount and the policy, one Warning", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const d = pass(run, [trainerRunning()], clock.advance(TIMEOUT_S));
    const c = condition(d);
    assert.equal(c?.status, "False");
    assert.equal(c?.reason, "NoProgressReports");
    assert.match(c?.message ?? "", /pod mnist-1/);
    assert.match(c?.message ?? "", /ServiceAccount resumable-trainer may patch its own pod/);
    assert.match(c?.message ?? "", /ValidatingAdmissionPolicy resumable-trainer-progress/);
    assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [["Warning", "NoProgressReports"]]);
    assert.equal(d.status.phase, "Running", "training goes on: this is a reporting problem, not a failure");
    // Seen again later: same status, no second event.
    run = afterWrite(run, d);
    const again = pass(run, [trainerRunning()], clock.advance(60));
    assert.deepEqual(again.status, d.status);
    assert.deepEqual(again.events, []);
  });

  it("a report turns it True again", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    run = afterWrite(run, pass(run, [trainerRunning()], clock.advance(TIMEOUT_S)));
    const d = pass(run, [trainerRunning({ step: 5, totalSteps: 600 })], clock.advance(5));
    assert.equal(condition(d)?.status, "True");
    assert.equal(condition(d)?.reason, "ProgressReported");
    assert.equal(d.status.progress?.step, 5);
  });

  it("a pod still pulling its image is not held to the timeout", () => {
    const pod = trainerRunning();
    pod.status = { ...pod.status, phase: "Pending" };
    pod.status.containerStatuses![0]!.state = { waiting: { reason: "ContainerCreating" } };
    const d = pass(aRun({}, startedStatus(1)), [pod], new FakeClock().advance(TIMEOUT_S * 10));
    assert.equal(condition(d), undefined);
  });
});
