import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { retryDelaySeconds } from "../../operator/src/reconcile/attempt-end.js";
import { trainingRunSpecSchema } from "../../operator/src/api/spec.js";
import { FakeClock, aPod, aRun, actionKinds, afterWrite, disruption, eventReasons, pass, running } from "./reconcile-fixtures.js";

const crash = (attempt: number) => aPod(attempt, { phase: "Failed", node: "spot-1", exitCode: 1 });
const evicted = (attempt: number) =>
  aPod(attempt, { phase: "Failed", node: "spot-1", exitCode: 143, conditions: [disruption("EvictionByEvictionAPI")] });

/**
 * Drives a run through attempts: each ends as `ending(attempt)` says, and passes repeat
 * (the clock moving to whatever requeue the operator asked for) until the next pod is
 * created or the run finishes. Returns the run as last written.
 */
function drive(spec: Partial<TrainingRunSpecInput>, ending: (attempt: number) => V1Pod, maxAttempts: number) {
  const clock = new FakeClock();
  let run: TrainingRun = aRun(spec);
  let pods: V1Pod[] = [];
  const requeues: number[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const d = pass(run, pods, clock.now());
    run = afterWrite(run, d);
    const create = d.actions.find((a) => a.kind === "createPod");
    if (create?.kind === "createPod") {
      const attempt = Number(create.pod.metadata?.labels?.["resumable.dev/attempt"]);
      if (attempt > maxAttempts) break;
      pods = [ending(attempt)]; // the previous pod is gone, the new one already ended
    } else if (d.status.phase === "Succeeded" || d.status.phase === "Failed") {
      break;
    } else if (d.requeueAfterMs !== undefined) {
      requeues.push(d.requeueAfterMs);
      clock.advance(d.requeueAfterMs / 1000);
    }
  }
  return { run, requeues };
}

describe("reconcile: budgets and backoff", () => {
  it("backoff doubles from initialSeconds and is capped at maxSeconds", () => {
    const policy = trainingRunSpecSchema.parse({ training: {}, failurePolicy: { backoff: { initialSeconds: 10, maxSeconds: 60 } } }).failurePolicy;
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, policy)), [10, 20, 40, 60, 60]);
  });

  it("a failure waits until status.nextAttemptAt, asking to be requeued for then", () => {
    const clock = new FakeClock();
    const run = aRun({ failurePolicy: { backoff: { initialSeconds: 10, maxSeconds: 300 } } }, { phase: "Running", attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1", uid: "pod-uid-1" }] });
    const failed = pass(run, [crash(1)], clock.now());
    assert.equal(failed.status.nextAttemptAt, new Date(clock.now().getTime() + 10_000).toISOString());
    assert.deepEqual(eventReasons(failed), ["RetryingAfterFailure"]);
    assert.match(failed.events[0]?.message ?? "", /exit code 1.*retry 1 of 3 at 2026-11-28T12:00:10.000Z/);

    // A restarted operator reads the backoff from status: nothing before the time.
    clock.advance(4);
    const waiting = pass(afterWrite(run, failed), [crash(1)], clock.now());
    assert.deepEqual(waiting.actions, []);
    assert.equal(waiting.status.phase, "Restarting");
    assert.equal(waiting.requeueAfterMs, 6_000);
    assert.equal(waiting.status.failures, 1);

    clock.advance(6);
    const retry = pass(afterWrite(run, waiting), [crash(1)], clock.now());
    assert.deepEqual(actionKinds(retry), ["createPod"]);
    assert.equal(retry.status.attempt, 2);
    assert.equal(retry.status.nextAttemptAt, undefined);
  });

  it("past maxRetries the run is Failed with a condition saying why", () => {
    const { run, requeues } = drive({ failurePolicy: { maxRetries: 2 } }, crash, 10);
    assert.equal(run.status?.phase, "Failed");
    assert.equal(run.status?.failures, 3);
    assert.equal(run.status?.attempt, 3);
    const failed = run.status?.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.reason, "MaxRetriesExceeded");
    assert.match(failed?.message ?? "", /3 failures exceed spec\.failurePolicy\.maxRetries \(2\)/);
    assert.deepEqual(requeues, [10_000, 20_000]);
  });

  it("preemptions never use the retry budget and restart at once", () => {
    const { run, requeues } = drive({ failurePolicy: { maxRetries: 0 } }, evicted, 6);
    assert.equal(run.status?.phase, "Restarting");
    assert.equal(run.status?.preemptions, 6);
    assert.equal(run.status?.failures, 0);
    assert.deepEqual(requeues, []);
  });

  it("past maxPreemptions the run is Failed", () => {
    const { run } = drive({ preemption: { maxPreemptions: 2 } }, evicted, 10);
    assert.equal(run.status?.phase, "Failed");
    assert.equal(run.status?.preemptions, 3);
    assert.equal(run.status?.conditions?.find((c) => c.type === "Failed")?.reason, "MaxPreemptionsExceeded");
  });

  it("counting is idempotent: the same ended pod seen again counts once and says so once", () => {
    const run = aRun({}, { phase: "Running", attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1", uid: "pod-uid-1" }] });
    const first = pass(run, [evicted(1)], new FakeClock().now());
    const again = pass(afterWrite(run, first), [evicted(1)], new FakeClock().now());
    assert.equal(again.status.preemptions, 1);
    assert.deepEqual(again.status.attempts?.[0], first.status.attempts?.[0]);
    assert.deepEqual(eventReasons(first), ["Preempted", "PodCreated"]);
    assert.deepEqual(eventReasons(again), []);
    // A lost status write: the pass is simply redone from the old status.
    assert.deepEqual(pass(run, [evicted(1)], new FakeClock().now()), first);
  });

  it("the next attempt waits while the previous pod is still alive (at most one trainer)", () => {
    const terminating = running(1, { deletedAt: "2026-11-28T12:00:00Z" });
    const run = aRun({}, { phase: "Running", attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1", uid: "pod-uid-1" }] });
    const d = pass(run, [terminating], new FakeClock().now());
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.attempts?.[0]?.endTime, undefined, "ends when the pod is terminal or gone");
    const gone = pass(afterWrite(run, d), [], new FakeClock().now());
    assert.equal(gone.status.attempts?.[0]?.endDetail, "PodDeleted");
    assert.deepEqual(actionKinds(gone), ["createPod"]);
  });

  it("terminal pods of superseded attempts are tidied away; the newest is kept for its logs", () => {
    const run = aRun({}, { phase: "Running", attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1", uid: "pod-uid-1" }] });
    const first = pass(run, [evicted(1)], new FakeClock().now());
    assert.deepEqual(actionKinds(first), ["createPod"]);
    const second = pass(afterWrite(run, first), [evicted(1), running(2)], new FakeClock().now());
    assert.deepEqual(second.actions, [{ kind: "deletePod", name: "mnist-1", uid: "pod-uid-1", reason: "superseded by a newer attempt" }]);
  });

  it("status.attempts keeps only the newest records", () => {
    const { run } = drive({}, evicted, 14);
    assert.deepEqual(run.status?.attempts?.map((a) => a.attempt), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(run.status?.preemptions, 14);
  });
});
