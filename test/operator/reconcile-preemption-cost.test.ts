// What preempting a queued run would cost now (operator/src/reconcile/preemption-cost.ts), in
// status and on the pod: written with the coalesced progress, never once per report; runs
// without a queue publish nothing. And how `resumable list` and `status` show it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { mergePatchBetween } from "../../operator/src/controller/merge-patch.js";
import { runTable } from "../../operator/src/ctl/list.js";
import { describe as describeRun } from "../../operator/src/ctl/status.js";
import type { Decision } from "../../operator/src/model/types.js";
import { FakeClock, SETTINGS, T0, aRun, afterWrite, pass, running, startedStatus } from "./reconcile-fixtures.js";

const ANNOTATION = "resumable.dev/preemption-cost";
const QUEUE = { "kueue.x-k8s.io/queue-name": "team-a", "kueue.x-k8s.io/priority-class": "low" };
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000).toISOString();
const checkpoint = { step: 240, time: at(0), bytes: 100, reason: "periodic" };
/** Step `step` reported `seconds` after the checkpoint of step 240. */
const reporting = (step: number, seconds: number, annotations: Record<string, string> = {}): V1Pod => {
  const pod = running(1, { progress: { step, totalSteps: 600, resumedFromStep: 0, checkpoint, updatedAt: at(seconds) } });
  pod.metadata!.annotations = { ...pod.metadata!.annotations, ...annotations };
  return pod;
};
const queued = (run: TrainingRun): TrainingRun => ({ ...run, metadata: { ...run.metadata, labels: QUEUE } });
const annotations = (d: Decision) => d.actions.flatMap((a) => (a.kind === "annotatePod" && a.annotation === ANNOTATION ? [a] : []));

describe("reconcile: what a preemption would cost, published", () => {
  it("says the newest checkpoint, the steps since it and their time, in status and as one annotation on the pod", () => {
    const d = pass(queued(aRun({}, startedStatus(1))), [reporting(300, 6)], T0, {}, { ...SETTINGS, progressWriteIntervalSeconds: 0 });
    const cost = { checkpointStep: 240, checkpointTime: at(0), stepsAtRisk: 60, secondsAtRisk: 6, reportedAt: at(6) };
    assert.deepEqual(d.status.preemptionCost, cost);
    const [annotate] = annotations(d);
    assert.equal(annotate?.name, "mnist-1");
    assert.deepEqual(JSON.parse(annotate?.value ?? "null"), cost);
  });

  it("moves only with the coalesced progress writes: a held report changes neither the status nor the pod", () => {
    const clock = new FakeClock();
    const settings = { ...SETTINGS, progressWriteIntervalSeconds: 15 };
    let run = queued(aRun({}, startedStatus(1)));
    const first = pass(run, [reporting(300, 6)], clock.now(), {}, settings);
    run = afterWrite(run, first);
    const published = annotations(first)[0]!.value;
    let patches = 0;
    for (const [i, step] of [310, 320, 330].entries()) {
      const held = pass(run, [reporting(step, 7 + i, { [ANNOTATION]: published })], clock.advance(3), {}, settings);
      assert.equal(mergePatchBetween(run.status ?? {}, held.status), undefined, `report ${step} is held`);
      patches += annotations(held).length;
    }
    assert.equal(patches, 0, "no pod patch while the progress is held");
    const due = pass(run, [reporting(340, 10, { [ANNOTATION]: published })], clock.advance(6), {}, settings);
    assert.equal(due.status.preemptionCost?.stepsAtRisk, 100);
    assert.equal(annotations(due).length, 1, "one patch with the write");
  });

  it("patches nothing when the pod already says it, and publishes nothing for a run without a queue", () => {
    const settings = { ...SETTINGS, progressWriteIntervalSeconds: 0 };
    const first = pass(queued(aRun({}, startedStatus(1))), [reporting(300, 6)], T0, {}, settings);
    const again = pass(afterWrite(queued(aRun({}, startedStatus(1))), first), [reporting(300, 6, { [ANNOTATION]: annotations(first)[0]!.value })], T0, {}, settings);
    assert.deepEqual(annotations(again), []);
    const direct = pass(aRun({}, startedStatus(1)), [reporting(300, 6)], T0, {}, settings);
    assert.equal(direct.status.preemptionCost, undefined);
    assert.deepEqual(annotations(direct), []);
  });
});

describe("the CLI on a queued run", () => {
  const status = { ...startedStatus(1), quotaPreemptions: 1, preemptionCost: { checkpointStep: 240, checkpointTime: at(0), stepsAtRisk: 60, secondsAtRisk: 6, reportedAt: at(6) } };
  const run = { ...queued(aRun({}, status)), metadata: { ...queued(aRun()).metadata, creationTimestamp: T0 } } as TrainingRun;

  it("resumable list adds AT RISK only when some run is queued", () => {
    const [header, row] = runTable([run], false, T0).split("\n");
    assert.match(header ?? "", /CHECKPOINT +AT RISK +STORAGE/);
    assert.match(row ?? "", /60 steps \(6\.0s\)/);
    assert.doesNotMatch(runTable([aRun({}, startedStatus(1))], false, T0), /AT RISK/);
  });

  it("resumable status names the queue, the priority, the quota preemptions and what is at risk", () => {
    const line = describeRun(run).split("\n").find((l) => l.startsWith("Queue:"));
    assert.equal(line, "Queue:        team-a (priority low), quota preemptions 1; at risk 60 steps (6.0s) since the checkpoint of step 240");
  });
});
