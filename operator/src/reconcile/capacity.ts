// The capacity policy of spec.scheduling.fallback: where the next attempt goes (spot or
// on-demand) and when the run moves. Pure functions of the spec, the status and the pod,
// and the one writer of status.capacity (keepCapacityState, noteCapacity, moveCapacity),
// through which the pass applies what they return.
import type { V1Pod } from "@kubernetes/client-node";
import type { FallbackSpec, TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, CapacityReason, CapacityStatus, CapacityType, TrainingRunStatus } from "../api/status.js";
import { queueOf } from "../model/kueue.js";
import { toDate, toTimestamp } from "../model/time.js";
import type { EventSpec } from "../model/types.js";
import type { Draft } from "./draft.js";

/** Where the run's next attempt goes: the policy's state, else what the spec asks for. */
export function capacityTypeOf(spec: TrainingRunSpec, status: TrainingRunStatus): CapacityType {
  if (!spec.scheduling.spot) return "on-demand";
  // A policy removed from the spec takes its state with it: back to what spot: true says.
  return spec.scheduling.fallback === undefined ? "spot" : (status.capacity?.type ?? "spot");
}

/** The capacity fields of a new attempt's record. */
export function capacityOfNewAttempt(spec: TrainingRunSpec, status: TrainingRunStatus): Pick<AttemptRecord, "capacityType" | "capacityReason" | "gpus"> {
  // A gang's attempt holds every rank's accelerators.
  const gpus = acceleratorCount(spec) * spec.workers;
  return {
    capacityType: capacityTypeOf(spec, status),
    capacityReason: status.capacity?.reason ?? "Spec",
    ...(gpus > 0 ? { gpus } : {}),
  };
}

const ACCELERATORS = ["nvidia.com/gpu", "amd.com/gpu"];

function acceleratorCount(spec: TrainingRunSpec): number {
  const limits = spec.resources?.limits ?? {};
  return ACCELERATORS.reduce((sum, key) => {
    const n = Number(limits[key] ?? 0);
    return sum + (Number.isFinite(n) ? n : 0);
  }, 0);
}

/** status.capacity for a run with a fallback policy that has none yet: on spot, as the spec says. */
export function initialCapacity(now: Date): CapacityStatus {
  return { type: "spot", reason: "Spec", since: toTimestamp(now), moves: 0, spotPreemptions: 0 };
}

/**
 * A policy removed from the spec takes its state with it (metrics and the CLI read it). In a
 * Kueue queue the policy is off: the flavor Kueue assigns decides the node terms, and a move
 * of the operator's own would fight it (docs/kueue.md, "Flavors vs fallback").
 */
export function keepCapacityState(d: Draft, spec: TrainingRunSpec): void {
  if (spec.scheduling.fallback !== undefined && spec.scheduling.spot && queueOf(d.observed.run) === undefined) d.status.capacity ??= initialCapacity(d.now);
  else delete d.status.capacity;
}

/** A change of status.capacity the policy decided, with the event that tells it (none for a message update). */
export function moveCapacity(d: Draft, next: { capacity: CapacityStatus; event?: EventSpec | undefined }): void {
  d.status.capacity = next.capacity;
  if (next.event) d.event(next.event.type, next.event.reason, next.event.message);
}

/** The capacity policy's view of an ended attempt: a preemption on spot, the end of a return. */
export function noteCapacity(d: Draft, record: AttemptRecord, spec: TrainingRunSpec): void {
  const fallback = spec.scheduling.fallback;
  if (fallback === undefined || d.status.capacity === undefined) return;
  moveCapacity(d, afterAttemptEnd(fallback, d.status.capacity, record, d.now));
}

export interface Move {
  capacity: CapacityStatus;
  event: EventSpec;
}

function moveTo(capacity: CapacityStatus, type: CapacityType, reason: CapacityReason, message: string, now: Date): CapacityStatus {
  return { type, reason, since: toTimestamp(now), message, moves: (capacity.moves ?? 0) + 1, spotPreemptions: 0 };
}

/**
 * After an attempt ended: a preemption on spot counts toward afterPreemptions; the end of a
 * planned return completes the move to spot. Undefined: the capacity stays as it is.
 */
export function afterAttemptEnd(fallback: FallbackSpec, capacity: CapacityStatus, record: AttemptRecord, now: Date): Move | { capacity: CapacityStatus; event?: undefined } {
  if (record.endReason === "Moved" && record.endDetail === "ReturnToSpot") {
    const message = `attempt ${record.attempt} stopped at its checkpoint after ${fallback.returnToSpotAfterSeconds ?? "?"} s on on-demand; the next attempt goes to spot`;
    return { capacity: moveTo(capacity, "spot", "ReturnToSpot", message, now), event: { type: "Normal", reason: "ReturnedToSpot", message } };
  }
  if (record.endReason !== "Preempted" || capacity.type !== "spot") return { capacity };
  const preemptions = (capacity.spotPreemptions ?? 0) + 1;
  const limit = fallback.afterPreemptions;
  if (limit === undefined || preemptions < limit) return { capacity: { ...capacity, spotPreemptions: preemptions } };
  const message = `${preemptions} preemption${preemptions === 1 ? "" : "s"} on spot (fallback.afterPreemptions ${limit}): the next attempt goes to on-demand`;
  return { capacity: moveTo(capacity, "on-demand", "AfterPreemptions", message, now), event: { type: "Warning", reason: "FellBackToOnDemand", message } };
}

/** Since when the scheduler has found no node for the pod (PodScheduled=False/Unschedulable). */
export function unschedulableSince(pod: V1Pod): { since: Date; message: string } | undefined {
  if (pod.spec?.nodeName) return undefined;
  const c = pod.status?.conditions?.find((x) => x.type === "PodScheduled");
  if (c?.status !== "False" || c.reason !== "Unschedulable") return undefined;
  const since = toDate(c.lastTransitionTime);
  return since ? { since, message: c.message ?? "" } : undefined;
}

export type PendingVerdict = { replace: Move } | { recheckInMs: number } | undefined;

/**
 * The bound on a spot attempt's wait for a node: afterPendingSeconds, else, for an attempt that
 * returned to spot, the operator's returnToSpotPendingSeconds (a returned run left a healthy
 * on-demand pod, so it must not wait forever).
 */
function pendingBound(fallback: FallbackSpec, record: AttemptRecord, returnBoundSeconds: number): { seconds: number; source: string } | undefined {
  if (fallback.afterPendingSeconds !== undefined) return { seconds: fallback.afterPendingSeconds, source: "fallback.afterPendingSeconds" };
  if (record.capacityReason === "ReturnToSpot") return { seconds: returnBoundSeconds, source: "the bound on a return to spot" };
  return undefined;
}

/**
 * The current attempt's pod waits for a spot node: after the bound it is replaced by an
 * attempt on on-demand (the pod never ran, so nothing is lost).
 */
export function pendingOnSpot(fallback: FallbackSpec, capacity: CapacityStatus, record: AttemptRecord, pod: V1Pod, now: Date, returnBoundSeconds: number): PendingVerdict {
  const limit = pendingBound(fallback, record, returnBoundSeconds);
  if (limit === undefined || capacity.type !== "spot" || (record.capacityType ?? "spot") !== "spot") return undefined;
  const pending = unschedulableSince(pod);
  if (pending === undefined) return undefined;
  const due = pending.since.getTime() + limit.seconds * 1000;
  if (now.getTime() < due) return { recheckInMs: due - now.getTime() };
  const waited = Math.round((now.getTime() - pending.since.getTime()) / 1000);
  const message = `pod ${record.pod} found no spot node for ${waited} s (${limit.source}, ${limit.seconds} s)${pending.message ? `: ${pending.message}` : ""}; the next attempt goes to on-demand`;
  return { replace: { capacity: moveTo(capacity, "on-demand", "PendingOnSpot", message, now), event: { type: "Warning", reason: "FellBackToOnDemand", message } } };
}

/** Where a spot pod could go now, judged from the cache (placement.ts). */
export type SpotNode = { node: string } | { none: string };

/** How often a run due back on spot looks again for a spot node: no watch event says one appeared. */
export const SPOT_POLL_MS = 30_000;

export type ReturnVerdict =
  | { request: CapacityStatus; event: EventSpec }
  | { stopPod: string }
  | { waitForSpot: string; recheckInMs: number }
  | { recheckInMs: number }
  | undefined;

/**
 * On on-demand for returnToSpotAfterSeconds: once a spot node could take the pod, ask for the
 * move (returnRequestedAt; the caller asks the trainer for a checkpoint through the pod's
 * checkpoint-request annotation), then stop the running pod gracefully once that checkpoint,
 * or any newer than the request, exists and a spot node still could take the pod. A healthy
 * on-demand pod is never stopped for a spot pod with nowhere to go.
 * `answered`: the trainer reported the early checkpoint of returnRequestId(capacity).
 */
export function returnToSpot(fallback: FallbackSpec, status: TrainingRunStatus, now: Date, spotNode: () => SpotNode, answered: boolean): ReturnVerdict {
  const capacity = status.capacity;
  const after = fallback.returnToSpotAfterSeconds;
  if (after === undefined || capacity?.type !== "on-demand") return undefined;
  const requested = toDate(capacity.returnRequestedAt);
  if (requested === undefined) {
    const since = toDate(capacity.since) ?? now;
    const due = since.getTime() + after * 1000;
    if (now.getTime() < due) return { recheckInMs: due - now.getTime() };
    const spot = spotNode();
    if ("none" in spot) return { waitForSpot: `due back on spot, but no spot node could take the pod: ${spot.none}`, recheckInMs: SPOT_POLL_MS };
    const message = `${after} s on on-demand (fallback.returnToSpotAfterSeconds) and spot node ${spot.node} could take the pod: moving back to spot at a checkpoint requested now`;
    return { request: { ...capacity, returnRequestedAt: toTimestamp(now), message }, event: { type: "Normal", reason: "ReturningToSpot", message } };
  }
  const checkpoint = status.lastCheckpoint;
  const saved = toDate(checkpoint?.time);
  if (!answered && (saved === undefined || saved <= requested)) return undefined;
  const spot = spotNode();
  if ("none" in spot) return { waitForSpot: `checkpoint saved for the return to spot, but no spot node could take the pod now: ${spot.none}`, recheckInMs: SPOT_POLL_MS };
  return { stopPod: `planned move back to spot (node ${spot.node} could take it) at the checkpoint of step ${checkpoint?.step ?? "?"}` };
}

/** The id of the checkpoint request a return to spot sets on the pod: one per requested return. */
export function returnRequestId(capacity: CapacityStatus | undefined): string | undefined {
  return capacity?.returnRequestedAt === undefined ? undefined : `return-to-spot@${capacity.returnRequestedAt}`;
}

/**
 * The operator's own stop of this attempt for a move, for the disruption rule: marked on the
 * record when the operator deleted the pod (as a suspend is), so a drain or a reclaim while
 * the move waits for its checkpoint stays a preemption.
 */
export function plannedStopOf(record: AttemptRecord, status: TrainingRunStatus): { requestedAt: number } | undefined {
  const requested = toDate(status.capacity?.returnRequestedAt);
  return record.stoppedForMove === true && requested !== undefined ? { requestedAt: requested.getTime() } : undefined;
}
