// spec.scheduling.fallback applied to the current attempt in one pass: replace a pod that
// finds no spot node by an attempt on on-demand, and return an on-demand run to spot only
// when a spot node could take its pod, at a checkpoint asked for through the pod's
// checkpoint-request annotation. The decisions themselves are capacity.ts's.
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord } from "../api/status.js";
import { endAttempt } from "./attempt-end.js";
import { moveCapacity, pendingOnSpot, returnRequestId, returnToSpot, type SpotNode } from "./capacity.js";
import { checkpointRequestAction } from "./reclaim.js";
import { readProgress } from "../model/observe.js";
import { nodeFor } from "./placement.js";
import { buildTrainerPod } from "./render.js";
import type { Draft } from "./draft.js";

/**
 * The capacity policy on the current attempt. Returns the message of a move that ended the
 * attempt here (the caller sets the phase), else undefined.
 */
export function applyFallback(d: Draft, spec: TrainingRunSpec, record: AttemptRecord, pod: V1Pod): string | undefined {
  const fallback = spec.scheduling.fallback;
  const capacity = d.status.capacity;
  if (fallback === undefined || capacity === undefined) return undefined;
  const pending = pendingOnSpot(fallback, capacity, record, pod, d.now, d.settings.returnToSpotPendingSeconds);
  if (pending && "recheckInMs" in pending) d.requeueIn(pending.recheckInMs);
  if (pending && "replace" in pending) {
    // Its end is recorded here and the pod deleted by the next pass, as for any ended attempt
    // (removeFinishedPods): if this status write failed, a pod deleted now would come back as
    // a preemption and the move would be lost.
    moveCapacity(d, pending.replace);
    endAttempt(d, record, { reason: "Moved", detail: "PendingOnSpot" }, spec);
    return pending.replace.event.message;
  }
  if (pod.status?.phase !== "Running") return undefined;
  const asked = returnRequestId(capacity);
  const answered = asked !== undefined && readProgress(pod)?.earlyCheckpointRequestId === asked;
  const back = returnToSpot(fallback, d.status, d.now, () => spotNodeFor(d, spec, record.attempt + 1), answered);
  if (back && "recheckInMs" in back) d.requeueIn(back.recheckInMs);
  if (back && "waitForSpot" in back && capacity.message !== back.waitForSpot) {
    moveCapacity(d, { capacity: { ...capacity, message: back.waitForSpot } });
  }
  if (back && "request" in back) {
    moveCapacity(d, { capacity: back.request, event: back.event });
  }
  // Graceful: the trainer flushes a final checkpoint, so the move loses no step.
  if (back && "stopPod" in back) {
    d.actions.push({ kind: "deletePod", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid, reason: back.stopPod });
    record.stoppedForMove = true;
    return undefined;
  }
  // Asked of the trainer until it answers: a run with no periodic saves returns too, and
  // without waiting for the next one. Idempotent by the request's id.
  const id = returnRequestId(d.status.capacity);
  if (id !== undefined && !answered) {
    const ask = checkpointRequestAction(pod, { id, reason: "planned move back to spot", at: d.status.capacity?.returnRequestedAt ?? "" });
    if (ask !== undefined) d.actions.push(ask);
  }
  return undefined;
}

/** A cached node that could take the next attempt's pod on spot, as render.ts would build it. */
function spotNodeFor(d: Draft, spec: TrainingRunSpec, attempt: number): SpotNode {
  const { run, location, nodes, podsOnNode } = d.observed;
  // Validation refuses a spec too broken to name a location before any attempt starts.
  if (location === undefined) return { none: "the run names no checkpoint location" };
  const pod = buildTrainerPod(run, spec, attempt, location, d.settings, "spot");
  return nodeFor(pod, nodes, podsOnNode ?? (() => []), d.settings.noticeSignals);
}
