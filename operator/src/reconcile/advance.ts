import type { TrainingRunSpec } from "../api/spec.js";
import type { Phase } from "../api/status.js";
import { addRecord, findRecord } from "./attempts.js";
import { findCondition } from "./conditions.js";
import type { Draft } from "./draft.js";
import { checkpointClaimName, podName } from "./names.js";
import { isAlive, isTerminating, type ObservedPods } from "./observed-pods.js";
import { buildTrainerPod } from "./pod-template.js";
import { buildCheckpointPvc } from "./pvc-template.js";
import { toDate, toTimestamp } from "./time.js";

/** How long to wait before looking again for something no watch reports (a missing claim). */
const POLL_MS = 15_000;

/** Moves a run that has not finished: suspend, wait, or start the next attempt. */
export function advance(d: Draft, pods: ObservedPods, spec: TrainingRunSpec): void {
  // Garbage collection is taking the pods; a new one would only be collected too.
  if (isTerminating(d.observed.run)) return;
  const attempt = d.status.attempt ?? 0;
  const current = findRecord(d.status, attempt);
  const currentPod = pods.byAttempt.get(attempt);
  const active = current !== undefined && current.endTime === undefined;

  if (spec.suspend) {
    if (active && currentPod && isAlive(currentPod) && !isTerminating(currentPod)) {
      d.actions.push({ kind: "deletePod", name: currentPod.metadata?.name ?? "", uid: currentPod.metadata?.uid, reason: "the run is suspended" });
      current.stoppedForSuspend = true;
    }
    if (d.condition({ type: "Suspended", status: "True", reason: "Suspended", message: "spec.suspend is true" })) {
      d.event("Normal", "Suspended", active ? `Stopping attempt ${attempt}: the run is suspended` : "The run is suspended");
    }
    setPhase(d, "Suspended", "Suspended", "spec.suspend is true");
    return;
  }
  if (findCondition(d.status.conditions, "Suspended")?.status === "True") {
    d.condition({ type: "Suspended", status: "False", reason: "Resumed", message: "spec.suspend is false" });
    d.event("Normal", "Unsuspended", "The run is no longer suspended");
  }

  if (active) {
    if (currentPod === undefined && current.uid === undefined) {
      // Created by an earlier pass but not seen since: creating again is idempotent by name.
      startAttempt(d, spec, attempt, false);
      return;
    }
    const waitingPhase = attempt > 1 ? "Restarting" : "Pending";
    if (currentPod && isTerminating(currentPod)) {
      // Deleted (drain, eviction, an unsuspend racing its own stop): a new attempt follows.
      setPhase(d, "Restarting", "PodTerminating", `attempt ${attempt} is stopping`);
    } else if (currentPod?.status?.phase === "Running") {
      setPhase(d, "Running", "TrainerRunning", `attempt ${attempt} is running`);
    } else {
      const unschedulable = currentPod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      setPhase(d, waitingPhase, unschedulable?.reason ?? "PodPending", unschedulable?.message ?? `attempt ${attempt} is starting`);
    }
    return;
  }

  const waiting = attempt > 0 ? "Restarting" : "Pending";
  if (pods.alive.length > 0) {
    const names = pods.alive.map((p) => p.metadata?.name).join(", ");
    setPhase(d, waiting, "WaitingForPodTermination", `waiting for ${names} to terminate`);
    return;
  }
  const nextAttemptAt = toDate(d.status.nextAttemptAt);
  if (nextAttemptAt !== undefined && nextAttemptAt > d.now) {
    d.requeueIn(nextAttemptAt.getTime() - d.now.getTime());
    setPhase(d, waiting, "BackoffAfterFailure", `next attempt at ${d.status.nextAttemptAt}`);
    return;
  }
  startAttempt(d, spec, attempt + 1, true);
}

/** Creates the attempt's pod (and the checkpoint PVC when the operator owns it). */
function startAttempt(d: Draft, spec: TrainingRunSpec, attempt: number, isNew: boolean): void {
  const { run, pvc } = d.observed;
  const claimName = checkpointClaimName(run);
  const waiting = attempt > 1 ? "Restarting" : "Pending";
  if (pvc === undefined && spec.checkpoint.claimName !== undefined) {
    d.requeueIn(POLL_MS);
    setPhase(d, waiting, "ClaimNotFound", `PersistentVolumeClaim ${claimName} (spec.checkpoint.claimName) does not exist`);
    return;
  }
  if (pvc !== undefined && isTerminating(pvc)) {
    d.requeueIn(POLL_MS);
    setPhase(d, waiting, "ClaimTerminating", `PersistentVolumeClaim ${claimName} is being deleted`);
    return;
  }
  if (pvc === undefined) d.actions.push({ kind: "createPVC", pvc: buildCheckpointPvc(run, spec.checkpoint, claimName) });
  const pod = buildTrainerPod(run, spec, attempt, claimName, d.settings);
  d.actions.push({ kind: "createPod", pod });
  if (isNew) {
    addRecord(d.status, attempt, podName(run.metadata.name ?? "", attempt));
    d.status.attempt = attempt;
    d.status.startTime ??= toTimestamp(d.now);
    delete d.status.nextAttemptAt;
    d.event("Normal", "PodCreated", `Created pod ${pod.metadata?.name} for attempt ${attempt}`);
  }
  setPhase(d, waiting, "PodPending", `attempt ${attempt} is starting`);
}

function setPhase(d: Draft, phase: Phase, reason: string, message: string): void {
  d.status.phase = phase;
  d.condition({ type: "Running", status: phase === "Running" ? "True" : "False", reason, message });
}
