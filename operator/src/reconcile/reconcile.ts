import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, Phase } from "../api/status.js";
import { endAttempt } from "./attempt-end.js";
import { addRecord, findRecord, noteProgress, notePod, trimHistory } from "./attempts.js";
import { findCondition } from "./conditions.js";
import { Draft } from "./draft.js";
import { checkpointClaimName, podName } from "./names.js";
import { isAlive, isTerminating, sortPods, type ObservedPods } from "./observed-pods.js";
import { assessPod } from "./pod-assessment.js";
import { buildTrainerPod } from "./pod-template.js";
import { buildCheckpointPvc } from "./pvc-template.js";
import type { OperatorSettings } from "./settings.js";
import { toDate, toTimestamp } from "./time.js";
import { readProgress } from "./trainer-reports.js";
import type { Decision, Observed } from "./types.js";
import { validateRun } from "./validate.js";

/** How long to wait before looking again for something no watch reports (a missing claim). */
const POLL_MS = 15_000;
/** Re-check soon after recording an outcome whose pod still has to be removed. */
const FOLLOW_UP_MS = 1_000;

/**
 * One level-based pass: from what is observed now (and the memory kept in status) to the
 * actions, the new status, the events and when to look again. Pure: no I/O, no clock.
 */
export function reconcile(observed: Observed, settings: OperatorSettings): Decision {
  const d = new Draft(observed, settings);
  d.status.observedGeneration = observed.run.metadata.generation;
  const validation = validateRun(observed.run, observed.pvc);
  if (!validation.ok) {
    const message = validation.field === "" ? validation.message : `${validation.field}: ${validation.message}`;
    if (d.condition({ type: "Valid", status: "False", reason: "InvalidSpec", message })) {
      d.event("Warning", "InvalidSpec", message);
    }
    d.status.phase ??= "Pending";
    return finish(d);
  }
  d.condition({ type: "Valid", status: "True", reason: "Valid", message: "the spec is valid" });
  const spec = validation.spec;
  // Zeros rather than blanks in `kubectl get tr`.
  d.status.preemptions ??= 0;
  d.status.failures ??= 0;
  d.status.lostSteps ??= 0;
  const pods = sortPods(observed.pods, observed.run);

  recordAttempts(d, pods, spec);
  removeFinishedPods(d, pods);
  if (isFinished(d.status.phase)) {
    const phase = d.status.phase ?? "";
    d.condition({ type: "Running", status: "False", reason: phase, message: `the run has ${phase.toLowerCase()}` });
  } else {
    advance(d, pods, spec);
  }
  return finish(d);
}

function finish(d: Draft): Decision {
  trimHistory(d.status, d.settings.attemptHistoryLimit);
  return d.decision();
}

function isFinished(phase: Phase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** Brings status.attempts up to date with the pods and decides the attempts that ended. */
function recordAttempts(d: Draft, pods: ObservedPods, spec: TrainingRunSpec): void {
  const known = d.status.attempt ?? 0;
  // Pods newer than status know are ours whose status write was lost: adopt them.
  for (const [attempt, pod] of pods.byAttempt) {
    if (attempt > known && !findRecord(d.status, attempt)) addRecord(d.status, attempt, pod.metadata?.name ?? "");
  }
  d.status.attempt = Math.max(known, pods.newestAttempt);

  for (const record of d.status.attempts ?? []) {
    if (record.endTime !== undefined) continue;
    const pod = pods.byAttempt.get(record.attempt);
    if (pod) {
      followPod(d, record, pod, spec);
    } else if (record.uid !== undefined || record.attempt < d.status.attempt) {
      // Seen before and now gone without a terminal state: deleted while it ran.
      endAttempt(d, record, { reason: "Preempted", detail: "PodDeleted" }, spec);
    }
    // Otherwise the pod was created but is not in the cache yet: advance() re-creates it.
  }
}

function followPod(d: Draft, record: AttemptRecord, pod: V1Pod, spec: TrainingRunSpec): void {
  notePod(record, pod);
  const progress = readProgress(pod);
  if (progress) noteProgress(d, record, progress);
  const assessment = assessPod(pod, d.observed.nodes);
  if (assessment.ended) {
    endAttempt(d, record, assessment.ended, spec);
    return;
  }
  if (!assessment.node.lost) {
    delete record.nodeLostAt;
    return;
  }
  // A node that is NotReady or gone cannot confirm the pod's end: give up on it after the
  // timeout. The trainer's fence keeps a zombie from committing if it still runs.
  const lostAt = toDate(record.nodeLostAt) ?? assessment.node.since ?? d.now;
  record.nodeLostAt = toTimestamp(lostAt);
  const giveUpAt = lostAt.getTime() + d.settings.stuckPodTimeoutSeconds * 1000;
  if (d.now.getTime() >= giveUpAt) {
    endAttempt(d, record, { reason: "Preempted", detail: "NodeLost" }, spec);
  } else {
    d.requeueIn(giveUpAt - d.now.getTime());
  }
}

/**
 * Deletes pods of attempts whose end an earlier pass recorded (never in the pass that
 * records it: if that status write failed, the outcome would be lost with the pod). Stuck
 * pods on lost nodes go with grace 0; terminal pods of superseded attempts are tidied away,
 * the newest is kept for `kubectl logs`.
 */
function removeFinishedPods(d: Draft, pods: ObservedPods): void {
  const before = d.observed.run.status;
  for (const [attempt, pod] of pods.byAttempt) {
    const recorded = before?.attempts?.find((r) => r.attempt === attempt);
    // A record dropped from the bounded history belonged to an attempt that had ended.
    const endedBefore = recorded ? recorded.endTime !== undefined : attempt <= (before?.attempt ?? 0);
    const justEnded = !endedBefore && findRecord(d.status, attempt)?.endTime !== undefined;
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid;
    if (justEnded && isAlive(pod)) d.requeueIn(FOLLOW_UP_MS);
    if (!endedBefore) continue;
    if (isAlive(pod)) {
      const lost = assessPod(pod, d.observed.nodes);
      if (!lost.ended && lost.node.lost) {
        d.actions.push({ kind: "deletePod", name, uid, gracePeriodSeconds: 0, reason: "stuck on a lost node" });
      } else if (!isTerminating(pod)) {
        d.actions.push({ kind: "deletePod", name, uid, reason: "its attempt has ended" });
      }
    } else if (attempt < (d.status.attempt ?? 0)) {
      d.actions.push({ kind: "deletePod", name, uid, reason: "superseded by a newer attempt" });
    }
  }
}

/** Moves a run that has not finished: suspend, wait, or start the next attempt. */
function advance(d: Draft, pods: ObservedPods, spec: TrainingRunSpec): void {
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
