// Moving a run that has not finished on: suspend it (the Suspended condition), or say what it
// waits for (its pod, the old pods' end, the retry backoff, a move of capacity), or name the
// attempt to start next.
import type { TrainingRunSpec } from "../api/spec.js";
import { findCondition } from "../model/conditions.js";
import { findRecord, isAlive, isTerminating, type ObservedPods } from "../model/observe.js";
import { toDate } from "../model/time.js";
import type { Draft } from "./draft.js";
import { applyFallback } from "./fallback.js";
import { gangWaiting, rankPods, unseenRanks } from "./gang.js";
import { blockedMessage } from "./missing-object.js";
import { setPhase, waitingPhase } from "./phase.js";

/** The attempt the pass creates a pod for. */
export interface AttemptToStart {
  attempt: number;
  isNew: boolean;
}

/**
 * Moves a run that has not finished: suspend, or wait and say why. Returns the attempt to
 * start (decide.ts starts it; isNew: false for one created before but not seen since).
 */
export function advance(d: Draft, pods: ObservedPods, spec: TrainingRunSpec): AttemptToStart | undefined {
  // Garbage collection is taking the pods; a new one would only be collected too.
  if (isTerminating(d.observed.run)) return undefined;
  const attempt = d.status.attempt ?? 0;
  const current = findRecord(d.status, attempt);
  const currentPod = pods.byAttempt.get(attempt);
  const active = current !== undefined && current.endTime === undefined;

  if (spec.suspend) {
    // Every pod of the attempt: a gang's ranks stop together (each flushes through the agreement).
    for (const pod of active ? (pods.all.get(attempt) ?? []) : []) {
      if (!isAlive(pod) || isTerminating(pod)) continue;
      d.actions.push({ kind: "deletePod", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid, reason: "the run is suspended" });
      current!.stoppedForSuspend = true;
    }
    if (d.condition({ type: "Suspended", status: "True", reason: "Suspended", message: "spec.suspend is true" })) {
      d.event("Normal", "Suspended", active ? `Stopping attempt ${attempt}: the run is suspended` : "The run is suspended");
    }
    setPhase(d, "Suspended", "Suspended", "spec.suspend is true");
    return undefined;
  }
  if (findCondition(d.status.conditions, "Suspended")?.status === "True") {
    d.condition({ type: "Suspended", status: "False", reason: "Resumed", message: "spec.suspend is false" });
    d.event("Normal", "Unsuspended", "The run is no longer suspended");
  }

  if (active) {
    if ((currentPod === undefined && current.uid === undefined) || unseenRanks(current, pods).length > 0) {
      // Created by an earlier pass but not seen since: creating again is idempotent by name.
      return { attempt, isNew: false };
    }
    const gang = current.ranks === undefined ? undefined : gangWaiting(rankPods(d, current, pods));
    // queue.ts's condition, set by this pass for the attempt's pods (never present without a queue).
    const queued = findCondition(d.status.conditions, "Queued");
    const moved = currentPod && !isTerminating(currentPod) ? applyFallback(d, spec, current, currentPod) : undefined;
    if (moved !== undefined) {
      setPhase(d, "Restarting", "FellBackToOnDemand", moved);
      return undefined;
    }
    if (currentPod && isTerminating(currentPod)) {
      // Deleted (drain, eviction, an unsuspend racing its own stop): a new attempt follows.
      setPhase(d, "Restarting", "PodTerminating", `attempt ${attempt} is stopping`);
    } else if (queued?.status === "True") {
      setPhase(d, waitingPhase(attempt), "Queued", queued.message);
    } else if (gang?.running === false) {
      setPhase(d, waitingPhase(attempt), gang.reason, gang.message);
    } else if (currentPod?.status?.phase === "Running") {
      setPhase(d, "Running", "TrainerRunning", `attempt ${attempt} is running`);
    } else {
      const blocked = blockedMessage(d);
      const unschedulable = currentPod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      if (blocked !== undefined) setPhase(d, waitingPhase(attempt), "WaitingForObject", blocked);
      else setPhase(d, waitingPhase(attempt), unschedulable?.reason ?? "PodPending", unschedulable?.message ?? `attempt ${attempt} is starting`);
    }
    return undefined;
  }

  // Between attempts the run waits for the next one.
  const waiting = waitingPhase(attempt + 1);
  if (pods.alive.length > 0) {
    const names = pods.alive.map((p) => p.metadata?.name).join(", ");
    setPhase(d, waiting, "WaitingForPodTermination", `waiting for ${names} to terminate`);
    return undefined;
  }
  const nextAttemptAt = toDate(d.status.nextAttemptAt);
  if (nextAttemptAt !== undefined && nextAttemptAt > d.now) {
    d.requeueIn(nextAttemptAt.getTime() - d.now.getTime());
    const blocked = current?.endReason === "Blocked" ? blockedMessage(d) : undefined;
    if (blocked !== undefined) setPhase(d, waiting, "WaitingForObject", `${blocked}; next attempt at ${d.status.nextAttemptAt}`);
    else if (current?.endReason === "GangUnschedulable") setPhase(d, waiting, "GangUnschedulable", `attempt ${attempt}'s gang could not be placed; next attempt at ${d.status.nextAttemptAt}`);
    else setPhase(d, waiting, "BackoffAfterFailure", `next attempt at ${d.status.nextAttemptAt}`);
    return undefined;
  }
  return { attempt: attempt + 1, isNew: true };
}
