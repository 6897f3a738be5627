// A final flush that does not fit the grace period shows before a preemption cuts it short:
// FlushAtRisk from the trainer's measured flushSeconds against the pod's grace period.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { FakeClock, aRun, afterWrite, pass, running, startedStatus } from "./reconcile-fixtures.js";

/** Attempt 1's pod with `grace` seconds between SIGTERM and SIGKILL, reporting `flushSeconds`. */
function trainer(grace: number, flushSeconds?: number): V1Pod {
  const pod = running(1, { progress: { step: 50, totalSteps: 600, ...(flushSeconds === undefined ? {} : { flushSeconds }) } });
  pod.spec = { ...pod.spec!, terminationGracePeriodSeconds: grace };
  return pod;
}

const flushAtRisk = (d: ReturnType<typeof pass>) => d.status.conditions?.find((c) => c.type === "FlushAtRisk");

describe("reconcile: does a final flush fit the grace period", () => {
  it("a flush well within the grace period: FlushAtRisk=False FlushFits with the figures, no event", () => {
    const d = pass(aRun({}, startedStatus(1)), [trainer(25, 3.2)], new FakeClock().advance(5));
    assert.equal(flushAtRisk(d)?.status, "False");
    assert.equal(flushAtRisk(d)?.reason, "FlushFits");
    assert.match(flushAtRisk(d)?.message ?? "", /a final flush is measured at 3\.2 s .* within the 25 s grace period/);
    assert.deepEqual(d.events.filter((e) => e.reason.startsWith("Flush")), []);
  });

  it("a flush longer than 80 % of it: FlushAtRisk=True naming the grace period to ask for, one Warning; fixed, it turns False with a Normal event", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const d = pass(run, [trainer(10, 9.5)], clock.advance(5));
    const c = flushAtRisk(d);
    assert.equal(c?.status, "True");
    assert.equal(c?.reason, "FlushLongerThanGrace");
    assert.match(c?.message ?? "", /measured at 9\.5 s .* 10 s between SIGTERM and SIGKILL/);
    assert.match(c?.message ?? "", /Raise spec\.preemption\.gracePeriodSeconds to at least 12/);
    assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [["Warning", "FlushAtRisk"]]);
    assert.equal(d.status.phase, "Running", "a risk, not a failure");
    run = afterWrite(run, d);
    assert.deepEqual(pass(run, [trainer(10, 9.5)], clock.advance(5)).events, [], "said once, not every pass");
    // The saves got cheaper (or the next attempt has a longer grace period).
    const fixed = pass(run, [trainer(10, 2)], clock.advance(5));
    assert.equal(flushAtRisk(fixed)?.status, "False");
    assert.deepEqual(fixed.events.map((e) => [e.type, e.reason]), [["Normal", "FlushFits"]]);
  });

  it("an earlier attempt's reclaim notice: the message gives the margin it measured", () => {
    const status = startedStatus(2);
    status.attempts = [
      { attempt: 1, pod: "mnist-1", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-01T00:10:00Z", endReason: "Preempted", noticeAt: "2026-01-01T00:08:00Z", noticeSource: "aws-spot-itn" },
      ...(status.attempts ?? []).filter((a) => a.attempt === 2),
    ];
    const pod = trainer(10, 9.5);
    pod.metadata = { ...pod.metadata!, name: "mnist-2" };
    const d = pass(aRun({}, status), [pod], new FakeClock().advance(5));
    assert.match(flushAtRisk(d)?.message ?? "", /attempt 1's reclaim notice \(aws-spot-itn\) came 120 s before its pod ended/);
  });

  it("a trainer that does not measure its flush leaves the condition alone", () => {
    assert.equal(flushAtRisk(pass(aRun({}, startedStatus(1)), [trainer(10)], new FakeClock().advance(5))), undefined);
  });
});
