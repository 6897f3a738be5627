// The capacity policy of spec.scheduling.fallback: where the next attempt goes (spot or
// on-demand) and when the run moves. Pure functions of the spec, the status and the pod;
// the reconcile pass applies what they return.
import type { V1Pod } from "@kubernetes/client-node";
import type { FallbackSpec, TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, CapacityReason, CapacityStatus, CapacityType, TrainingRunStatus } from "../api/status.js";
import { toDate, toTimestamp, type EventSpec } from "./types.js";

/** Where the run's next attempt goes: the policy's state, else what the spec asks for. */
export function capacityTypeOf(spec: TrainingRunSpec, status: TrainingRunStatus): CapacityType {
  if (!spec.scheduling.spot) return "on-demand";
  // A policy removed from the spec takes its state with it: back to what spot: true says.
  return spec.scheduling.fallback === undefined ? "spot" : (status.capacity?.type ?? "spot");
}

/** The capacity fields of a new attempt's record. */
export function capacityOfNewAttempt(spec: TrainingRunSpec, status: TrainingRunStatus): Pick<AttemptRecord, "capacityType" | "capacityReason" | "gpus"> {
  const gpus = acceleratorCount(spec);
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
 * The current attempt's pod waits for a spot node: after afterPendingSeconds it is replaced
 * by an attempt on on-demand (the pod never ran, so nothing is lost).
 */
export function pendingOnSpot(fallback: FallbackSpec, capacity: CapacityStatus, record: AttemptRecord, pod: V1Pod, now: Date): PendingVerdict {
  const limit = fallback.afterPendingSeconds;
  if (limit === undefined || capacity.type !== "spot" || (record.capacityType ?? "spot") !== "spot") return undefined;
  const pending = unschedulableSince(pod);
  if (pending === undefined) return undefined;
  const due = pending.since.getTime() + limit * 1000;
  if (now.getTime() < due) return { recheckInMs: due - now.getTime() };
  const waited = Math.round((now.getTime() - pending.since.getTime()) / 1000);
  const message = `pod ${record.pod} found no spot node for ${waited} s (fallback.afterPendingSeconds ${limit})${pending.message ? `: ${pending.message}` : ""}; the next attempt goes to on-demand`;
  return { replace: { capacity: moveTo(capacity, "on-demand", "PendingOnSpot", message, now), event: { type: "Warning", reason: "FellBackToOnDemand", message } } };
}

export type ReturnVerdict =
  | { request: CapacityStatus; event: EventSpec }
  | { stopPod: string }
  | { recheckInMs: number }
  | undefined;

/**
 * On on-demand for returnToSpotAfterSeconds: ask for the move (returnRequestedAt), then stop
 * the running pod gracefully once a checkpoint newer than the request exists, so the move
 * loses at most the steps since that checkpoint and, with the final flush, none.
 */
export function returnToSpot(fallback: FallbackSpec, status: TrainingRunStatus, now: Date): ReturnVerdict {
  const capacity = status.capacity;
  const after = fallback.returnToSpotAfterSeconds;
  if (after === undefined || capacity?.type !== "on-demand") return undefined;
  const requested = toDate(capacity.returnRequestedAt);
  if (requested === undefined) {
    const since = toDate(capacity.since) ?? now;
    const due = since.getTime() + after * 1000;
    if (now.getTime() < due) return { recheckInMs: due - now.getTime() };
    const message = `${after} s on on-demand (fallback.returnToSpotAfterSeconds): moving back to spot at the next checkpoint`;
    return { request: { ...capacity, returnRequestedAt: toTimestamp(now) }, event: { type: "Normal", reason: "ReturningToSpot", message } };
  }
  const checkpoint = status.lastCheckpoint;
  const saved = toDate(checkpoint?.time);
  if (checkpoint === undefined || saved === undefined || saved <= requested) return undefined;
  return { stopPod: `planned move back to spot at the checkpoint of step ${checkpoint.step}` };
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
