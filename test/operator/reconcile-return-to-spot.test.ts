// The return to spot through reconcile: only when a cached spot node could take the pod, at a
// checkpoint asked of the trainer through the checkpoint-request annotation, and bounded: a
// returned pod that finds no node goes back to on-demand. A custom spot pool is judged by its
// own labels and taints.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, PROGRESS_ANNOTATION } from "@resumable/protocol";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import { T0, aPod, aRun, actionKinds, eventReasons, pass, running } from "./reconcile-fixtures.js";
import { WORLD, at, createdPod, nodeKeys, play, reclaimed, spotNode } from "./fallback-fixtures.js";

const RETURNING = { afterPreemptions: 1, returnToSpotAfterSeconds: 60 };
/** Attempt 1 reclaimed on spot, attempt 2 created on on-demand at 60 s. */
const toOnDemand = [
  { pods: [], now: T0 },
  { pods: [running(1, { startTime: T0 })], now: at(1) },
  { pods: [reclaimed(1)], now: at(60) },
];
const onDemand = (o: Parameters<typeof aPod>[1] = {}) => aPod(2, { node: "ondemand-a", startTime: at(61), phase: "Running", ...o });
const checkpointAt = (step: number, s: number) => ({ step, totalSteps: 600, resumedFromStep: 100, checkpoint: { step, time: at(s).toISOString(), bytes: 1, reason: "periodic" } });
const withAnnotations = (pod: V1Pod, annotations: Record<string, string>): V1Pod => ({ ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } } });

// The operator's default, DEFAULT_SETTINGS.returnToSpotPendingSeconds (the passes below use it).
const RETURN_PENDING_SECONDS = 300;

describe("reconcile: returning to spot", () => {
  it("never stops a healthy on-demand pod while no spot node could take the spot pod, and returns once one could", () => {
    const cordoned = [spotNode("spot-1", { cordoned: true }), WORLD.nodes[1]!];
    const { run, decisions } = play(aRun({ scheduling: { spot: true, fallback: RETURNING } }), [
      ...toOnDemand,
      { pods: [onDemand()], now: at(121), nodes: cordoned },
      { pods: [onDemand({ progress: checkpointAt(300, 190) })], now: at(200), nodes: cordoned },
      { pods: [onDemand({ progress: checkpointAt(300, 190) })], now: at(230) },
    ]);
    for (const d of decisions.slice(3, 5)) {
      assert.deepEqual(actionKinds(d), [], "no checkpoint asked for, no pod stopped");
      assert.ok(!eventReasons(d).includes("ReturningToSpot"));
      assert.ok(d.requeueAfterMs !== undefined, "looks again: no watch event says a spot node appeared");
    }
    assert.match(decisions[4]!.status.capacity?.message ?? "", /no spot node could take the pod: 0\/2 nodes could take it: 1 cordoned, 1 required node affinity does not match/);
    const back = decisions[5]!;
    assert.ok(eventReasons(back).includes("ReturningToSpot"), eventReasons(back).join(", "));
    assert.deepEqual(actionKinds(back), ["annotatePod"]);
    assert.equal(run.status?.capacity?.type, "on-demand");
  });

  it("asks the trainer for the return's checkpoint through the annotation, so a run without periodic saves returns too", () => {
    const training = { model: "mlp", totalSteps: 600, checkpoint: { everySteps: 0, everySeconds: 0 } };
    const spec: Partial<TrainingRunSpecInput> = { training, scheduling: { spot: true, fallback: RETURNING } };
    const requestId = `return-to-spot@${at(121).toISOString()}`;
    const asked = withAnnotations(onDemand(), { [CHECKPOINT_REQUEST_ANNOTATION]: JSON.stringify({ id: requestId, reason: "planned move back to spot", at: at(121).toISOString() }) });
    // The trainer's clock runs behind: its checkpoint's time is before the request, its answer names the request.
    const answer = JSON.stringify({ ...checkpointAt(240, 110), earlyCheckpoint: { requestId, step: 240, time: at(110).toISOString() } });
    const { decisions } = play(aRun(spec), [
      ...toOnDemand,
      { pods: [onDemand()], now: at(121) },
      { pods: [asked], now: at(125) },
      { pods: [withAnnotations(asked, { [PROGRESS_ANNOTATION]: answer })], now: at(130) },
    ]);
    const ask = decisions[3]!.actions[0];
    assert.ok(ask?.kind === "annotatePod", JSON.stringify(decisions[3]!.actions));
    assert.equal(ask.annotation, CHECKPOINT_REQUEST_ANNOTATION);
    assert.equal(JSON.parse(ask.value).id, requestId);
    assert.deepEqual(actionKinds(decisions[4]!), [], "asked once: the pod carries the request");
    assert.deepEqual(decisions[5]!.actions.map((a) => [a.kind, "name" in a ? a.name : ""]), [["deletePod", "mnist-2"]]);
  });

  it(`a returned pod that finds no spot node goes back to on-demand after ${RETURN_PENDING_SECONDS} s, with afterPendingSeconds unset`, () => {
    const unschedulable = aPod(3, { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/2 nodes are available: 1 Insufficient nvidia.com/gpu", lastTransitionTime: at(131) }] });
    const bound = 131 + RETURN_PENDING_SECONDS;
    const { run, decisions } = play(aRun({ scheduling: { spot: true, fallback: RETURNING } }), [
      ...toOnDemand,
      { pods: [onDemand()], now: at(121) },
      { pods: [onDemand({ progress: checkpointAt(250, 125) })], now: at(126) },
      { pods: [onDemand({ phase: "Failed", deletedAt: at(127), exitCode: 143, summary: { reason: "preempted", step: 260, resumedFromStep: 100, checkpoint: { step: 260 } } })], now: at(130) },
      { pods: [unschedulable], now: at(140) },
      { pods: [unschedulable], now: at(bound) },
      { pods: [unschedulable], now: at(bound + 1) },
      { pods: [], now: at(bound + 2) },
    ]);
    assert.ok(eventReasons(decisions[5]!).includes("ReturnedToSpot"));
    assert.equal(decisions[6]!.requeueAfterMs, (bound - 140) * 1000, "looks again when the bound runs out");
    assert.ok(eventReasons(decisions[7]!).includes("FellBackToOnDemand"), eventReasons(decisions[7]!).join(", "));
    assert.deepEqual(actionKinds(decisions[8]!), ["deletePod"]);
    assert.ok(nodeKeys(createdPod(decisions[9]!)).includes("cloud.google.com/gke-provisioning In standard"));
    assert.deepEqual(run.status?.attempts?.map((a) => [a.capacityType, a.endReason, a.endDetail]), [
      ["spot", "Preempted", "TerminationByKubelet"],
      ["on-demand", "Moved", "ReturnToSpot"],
      ["spot", "Moved", "PendingOnSpot"],
      ["on-demand", undefined, undefined],
    ]);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures, 0);
  });
});

describe("reconcile: a custom spot pool", () => {
  const pool = { spotNodeSelector: { pool: "spot-gpu" }, spotTolerations: [{ key: "example.com/spot", operator: "Exists" as const, effect: "NoSchedule" as const }] };

  it("spot attempts select the pool's labels and tolerate its taints instead of the clouds'", () => {
    const pod = createdPod(pass(aRun({ scheduling: { spot: true, nodeSelector: { gpu: "a100" }, fallback: { ...RETURNING, ...pool } } }), [], T0));
    assert.deepEqual(pod.spec?.nodeSelector, { gpu: "a100", pool: "spot-gpu" });
    assert.deepEqual(pod.spec?.tolerations, pool.spotTolerations);
    assert.deepEqual(nodeKeys(pod), []);
  });

  it("the return is judged by the pool's labels and taints: a clouds' spot node does not count", () => {
    const poolNode = spotNode("pool-1", { labels: { pool: "spot-gpu" }, taints: [{ key: "example.com/spot", value: "true", effect: "NoSchedule" }] });
    const spec = { scheduling: { spot: true, fallback: { ...RETURNING, ...pool } } };
    const { decisions } = play(aRun(spec), [
      ...toOnDemand.map((s) => ({ ...s, pods: s.pods.map((p) => ({ ...p, spec: { ...p.spec!, nodeName: "pool-1" } })), nodes: [...WORLD.nodes, poolNode] })),
      { pods: [onDemand()], now: at(121) },
      { pods: [onDemand()], now: at(122), nodes: [...WORLD.nodes, poolNode] },
    ]);
    assert.ok(!eventReasons(decisions[3]!).includes("ReturningToSpot"), "spot-1 has the clouds' label, not the pool's");
    assert.ok(eventReasons(decisions[4]!).includes("ReturningToSpot"), eventReasons(decisions[4]!).join(", "));
  });

  it("spotTolerations without spotNodeSelector is refused, naming the field", () => {
    const d = pass(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1, spotTolerations: pool.spotTolerations } } }), [], T0);
    const valid = d.status.conditions?.find((c) => c.type === "Valid");
    assert.equal(valid?.status, "False");
    assert.match(valid?.message ?? "", /^spec\.scheduling\.fallback\.spotTolerations: spotTolerations needs spotNodeSelector/);
  });
});
