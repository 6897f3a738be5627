// The capacity policy's decisions, each from plain data: when a spot run falls back to
// on-demand, and when and how it returns.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import type { CapacityStatus, TrainingRunStatus } from "../../operator/src/api/status.js";
import { DEFAULT_SETTINGS } from "../../operator/src/model/settings.js";
import { afterAttemptEnd, initialCapacity, pendingOnSpot, returnToSpot, type SpotNode } from "../../operator/src/reconcile/capacity.js";

const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 12, 0, s));
const onSpot: CapacityStatus = initialCapacity(at(0));
const aSpotNode = (): SpotNode => ({ node: "spot-a" });
const noSpotNode = (): SpotNode => ({ none: "0/2 nodes could take it: 2 cordoned" });

const unschedulable = (since: number): V1Pod => ({
  metadata: { name: "r-2" },
  spec: { containers: [] },
  status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available", lastTransitionTime: at(since) }] },
});

const RETURN_PENDING_SECONDS = DEFAULT_SETTINGS.returnToSpotPendingSeconds;

describe("capacity policy: falling back to on-demand", () => {
  it("after afterPreemptions preemptions on spot, and not one before", () => {
    const fallback = { afterPreemptions: 2 };
    const first = afterAttemptEnd(fallback, onSpot, { attempt: 1, pod: "r-1", endReason: "Preempted" }, at(10));
    assert.equal(first.capacity.type, "spot");
    assert.equal(first.event, undefined);
    const second = afterAttemptEnd(fallback, first.capacity, { attempt: 2, pod: "r-2", endReason: "Preempted" }, at(20));
    assert.equal(second.capacity.type, "on-demand");
    assert.equal(second.capacity.reason, "AfterPreemptions");
    assert.equal(second.capacity.moves, 1);
    assert.equal(second.event?.reason, "FellBackToOnDemand");
  });

  it("counts neither failures nor preemptions on on-demand toward afterPreemptions", () => {
    const fallback = { afterPreemptions: 1 };
    assert.equal(afterAttemptEnd(fallback, onSpot, { attempt: 1, pod: "r-1", endReason: "Failed" }, at(10)).capacity.type, "spot");
    const onDemand: CapacityStatus = { ...onSpot, type: "on-demand", reason: "AfterPreemptions" };
    assert.deepEqual(afterAttemptEnd(fallback, onDemand, { attempt: 2, pod: "r-2", endReason: "Preempted" }, at(10)).capacity, onDemand);
  });

  it("replaces a pod unschedulable on spot once afterPendingSeconds have passed, and says when to look again before", () => {
    const fallback = { afterPendingSeconds: 30 };
    const record = { attempt: 2, pod: "r-2", capacityType: "spot" as const };
    assert.deepEqual(pendingOnSpot(fallback, onSpot, record, unschedulable(0), at(20), RETURN_PENDING_SECONDS), { recheckInMs: 10_000 });
    const verdict = pendingOnSpot(fallback, onSpot, record, unschedulable(0), at(30), RETURN_PENDING_SECONDS);
    assert.ok(verdict && "replace" in verdict);
    assert.equal(verdict.replace.capacity.type, "on-demand");
    assert.equal(verdict.replace.capacity.reason, "PendingOnSpot");
    assert.match(verdict.replace.event.message, /r-2 found no spot node for 30 s .*0\/3 nodes are available/);
  });

  it("leaves a scheduled pod, a pod pending for another reason and an on-demand attempt alone", () => {
    const fallback = { afterPendingSeconds: 1 };
    const record = { attempt: 2, pod: "r-2", capacityType: "spot" as const };
    const bound = { ...unschedulable(0), spec: { containers: [], nodeName: "spot-a" } };
    assert.equal(pendingOnSpot(fallback, onSpot, record, bound, at(60), RETURN_PENDING_SECONDS), undefined);
    const gated = unschedulable(0);
    gated.status!.conditions![0]!.reason = "SchedulingGated";
    assert.equal(pendingOnSpot(fallback, onSpot, record, gated, at(60), RETURN_PENDING_SECONDS), undefined);
    assert.equal(pendingOnSpot(fallback, onSpot, { ...record, capacityType: "on-demand" }, unschedulable(0), at(60), RETURN_PENDING_SECONDS), undefined);
  });
});

describe("capacity policy: returning to spot", () => {
  const fallback = { afterPreemptions: 1, returnToSpotAfterSeconds: 60 };
  const onDemand: CapacityStatus = { type: "on-demand", reason: "AfterPreemptions", since: at(0).toISOString(), moves: 1 };

  it("asks for the move after returnToSpotAfterSeconds, not before", () => {
    assert.deepEqual(returnToSpot(fallback, { capacity: onDemand }, at(59), aSpotNode, false), { recheckInMs: 1000 });
    const verdict = returnToSpot(fallback, { capacity: onDemand }, at(60), aSpotNode, false);
    assert.ok(verdict && "request" in verdict);
    assert.equal(verdict.request.returnRequestedAt, at(60).toISOString());
    assert.equal(verdict.event.reason, "ReturningToSpot");
  });

  it("stops the pod only once a checkpoint newer than the request exists", () => {
    const requested: CapacityStatus = { ...onDemand, returnRequestedAt: at(60).toISOString() };
    const status = (checkpointAt: number): TrainingRunStatus => ({ capacity: requested, lastCheckpoint: { step: 500, time: at(checkpointAt).toISOString() } });
    assert.equal(returnToSpot(fallback, status(55), at(70), aSpotNode, false), undefined, "the checkpoint before the request is not the boundary");
    assert.deepEqual(returnToSpot(fallback, status(65), at(70), aSpotNode, false), { stopPod: "planned move back to spot (node spot-a could take it) at the checkpoint of step 500" });
  });

  it("completes the move when the stopped attempt ends as Moved: spot again, a move counted, the preemption count reset", () => {
    const requested: CapacityStatus = { ...onDemand, returnRequestedAt: at(60).toISOString() };
    const moved = afterAttemptEnd(fallback, requested, { attempt: 3, pod: "r-3", endReason: "Moved", endDetail: "ReturnToSpot" }, at(80));
    assert.equal(moved.capacity.type, "spot");
    assert.equal(moved.capacity.reason, "ReturnToSpot");
    assert.equal(moved.capacity.moves, 2);
    assert.equal(moved.capacity.returnRequestedAt, undefined);
    assert.equal(moved.capacity.spotPreemptions, 0);
    assert.equal(moved.event?.reason, "ReturnedToSpot");
  });

  it("never returns without returnToSpotAfterSeconds", () => {
    assert.equal(returnToSpot({ afterPreemptions: 1 }, { capacity: onDemand }, at(100_000), aSpotNode, false), undefined);
  });

  it("asks for no move while no spot node could take the pod, and looks again later", () => {
    const verdict = returnToSpot(fallback, { capacity: onDemand }, at(600), noSpotNode, false);
    assert.ok(verdict && "waitForSpot" in verdict, JSON.stringify(verdict));
    assert.match(verdict.waitForSpot, /no spot node could take the pod: 0\/2 nodes could take it: 2 cordoned/);
    assert.ok(verdict.recheckInMs > 0);
  });

  it("stops the pod on the trainer's answer to the return's checkpoint request, without a periodic save", () => {
    const requested: CapacityStatus = { ...onDemand, returnRequestedAt: at(60).toISOString() };
    assert.equal(returnToSpot(fallback, { capacity: requested }, at(70), aSpotNode, false), undefined, "no checkpoint and no answer: it waits");
    assert.ok("stopPod" in (returnToSpot(fallback, { capacity: requested }, at(70), aSpotNode, true) ?? {}));
  });

  it("keeps the on-demand pod when the spot node is gone by the time the checkpoint is saved", () => {
    const requested: CapacityStatus = { ...onDemand, returnRequestedAt: at(60).toISOString() };
    const verdict = returnToSpot(fallback, { capacity: requested }, at(70), noSpotNode, true);
    assert.ok(verdict && "waitForSpot" in verdict, JSON.stringify(verdict));
  });

  it("bounds a returned attempt's wait for a spot node even without afterPendingSeconds, and only a returned one", () => {
    const returned = { attempt: 3, pod: "r-3", capacityType: "spot" as const, capacityReason: "ReturnToSpot" as const };
    const back: CapacityStatus = { ...onSpot, reason: "ReturnToSpot", moves: 2 };
    assert.deepEqual(pendingOnSpot(fallback, back, returned, unschedulable(0), at(10), RETURN_PENDING_SECONDS), { recheckInMs: (RETURN_PENDING_SECONDS - 10) * 1000 });
    const later = new Date(at(0).getTime() + RETURN_PENDING_SECONDS * 1000);
    const verdict = pendingOnSpot(fallback, back, returned, unschedulable(0), later, RETURN_PENDING_SECONDS);
    assert.ok(verdict && "replace" in verdict, JSON.stringify(verdict));
    assert.equal(verdict.replace.capacity.type, "on-demand");
    assert.match(verdict.replace.event.message, /the bound on a return to spot/);
    const first = { attempt: 1, pod: "r-1", capacityType: "spot" as const, capacityReason: "Spec" as const };
    assert.equal(pendingOnSpot(fallback, onSpot, first, unschedulable(0), later, RETURN_PENDING_SECONDS), undefined, "a spot run that never fell back waits as long as the spec says");
  });
});
