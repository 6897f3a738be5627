// reconcile(observed) -> Decision: validate the run, bring the attempt history up to date
// with its pods, remove pods whose attempt ended, then move an unfinished run on (suspend,
// wait, or start the next attempt). Pure: no I/O, no clock reads, no randomness.
import type { V1Pod } from "@kubernetes/client-node";
import { RUN_LABEL } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, Phase } from "../api/status.js";
import { addRecord, assessPod, endAttempt, notePod, noteProgress, trimHistory, watchProgressReports } from "./assess.js";
import { checkpointClaimName, checkpointStorage, classifyPods, findRecord, isAlive, isTerminating, podName, readProgress, type ObservedPods } from "../model/observe.js";
import { checkpointRequestFor, nodeNotice } from "../model/notice.js";
import { checkpointRequestAction } from "./reclaim.js";
import { buildCheckpointPvc, buildTrainerPod } from "./render.js";
import { Draft } from "./draft.js";
import { findCondition } from "../model/conditions.js";
import { toDate, toTimestamp } from "../model/time.js";
import type { Decision, Observed } from "../model/types.js";
import type { OperatorSettings } from "../model/settings.js";
import { validateRun } from "./validate.js";
import { foreignTrainer, STORAGE_IN_USE } from "../model/storage-claims.js";
import { capacityOfNewAttempt, capacityTypeOf, initialCapacity, plannedStopOf } from "./capacity.js";
import { applyFallback } from "./fallback.js";
import { blockedMessage, missingObject, objectsFound, waitForObject } from "./missing-object.js";
import { nextAccounting } from "../model/accounting.js";
import { coalesceProgress } from "./progress-writes.js";

/** The node label the price table is keyed by. */
const INSTANCE_TYPE = "node.kubernetes.io/instance-type";

// ---- One pass ----

/**
 * One level-based pass: from what is observed now (and the memory kept in status) to the
 * actions, the new status, the events and when to look again. Pure: no I/O, no clock.
 */
export function reconcile(observed: Observed, settings: OperatorSettings): Decision {
  const d = new Draft(observed, settings);
  const generation = observed.run.metadata.generation;
  if (generation !== undefined) d.status.observedGeneration = generation;
  const validation = validateRun(observed, settings);
  if (!validation.ok) {
    const message = validation.field === "" ? validation.message : `${validation.field}: ${validation.message}`;
    if (d.condition({ type: "Valid", status: "False", reason: validation.reason, message })) {
      d.event("Warning", validation.reason, message);
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
  // A policy removed from the spec takes its state with it (metrics and the CLI read it).
  if (spec.scheduling.fallback !== undefined && spec.scheduling.spot) d.status.capacity ??= initialCapacity(d.now);
  else delete d.status.capacity;
  const pods = classifyPods(observed.pods, observed.run);

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
  // A function of the attempt records: it changes when an attempt ends, not with the clock.
  if (d.status.attempts !== undefined) d.status.accounting = nextAccounting(d.observed.run.status, d.status.attempts, d.settings.prices ?? {});
  // Last: it compares the finished status with the observed one.
  coalesceProgress(d);
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
      // Seen before and now gone without a terminal state: deleted while it ran, by us for a
      // planned move or by someone else.
      const planned = plannedStopOf(record, d.status) !== undefined;
      endAttempt(d, record, planned ? { reason: "Moved", detail: "ReturnToSpot" } : { reason: "Preempted", detail: "PodDeleted" }, spec);
    }
    // Otherwise the pod was created but is not in the cache yet: advance() re-creates it.
  }
}

function followPod(d: Draft, record: AttemptRecord, pod: V1Pod, spec: TrainingRunSpec): void {
  notePod(record, pod, d.now);
  const instanceType = record.node === undefined ? undefined : d.observed.nodes.get(record.node)?.metadata?.labels?.[INSTANCE_TYPE];
  if (instanceType !== undefined) record.instanceType ??= instanceType;
  const progress = readProgress(pod);
  if (progress) noteProgress(d, record, progress);
  // Before the end check: the report of an early checkpoint often arrives in the same pass
  // that sees the pod ended, when the reclaim follows the checkpoint closely.
  noteEarlyCheckpoint(d, record, progress?.earlyCheckpointStep);
  // Not a failure of the trainer, which never started: the run waits for the object.
  const missing = isTerminating(pod) ? undefined : missingObject(pod, d.observed.mountFailures ?? []);
  if (missing !== undefined) return waitForObject(d, record, missing, spec);
  const assessment = assessPod(pod, d.observed.nodes, plannedStopOf(record, d.status));
  if (assessment.ended) {
    endAttempt(d, record, assessment.ended, spec);
    return;
  }
  if (!assessment.node.lost) {
    delete record.nodeLostAt;
    if (assessment.running) objectsFound(d, record);
    watchProgressReports(d, record, pod, progress !== undefined);
    followNotice(d, record, pod);
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

/** The trainer's early checkpoint (its progress report's earlyCheckpoint), recorded once per step saved. */
function noteEarlyCheckpoint(d: Draft, record: AttemptRecord, earlyCheckpointStep: number | undefined): void {
  if (record.noticeAt === undefined || earlyCheckpointStep === undefined || record.earlyCheckpointStep === earlyCheckpointStep) return;
  record.earlyCheckpointStep = earlyCheckpointStep;
  d.event("Normal", "EarlyCheckpoint", `attempt ${record.attempt}'s trainer saved step ${earlyCheckpointStep} on the reclaim notice`);
}

/**
 * A reclaim notice on the node of a running attempt: recorded once (noticeAt, an event), and
 * the trainer asked for a checkpoint now through its pod's annotation, once per notice (the
 * request id says which). The trainer's early checkpoint comes back in its progress report.
 */
function followNotice(d: Draft, record: AttemptRecord, pod: V1Pod): void {
  const node = pod.spec?.nodeName;
  const notice = node === undefined ? undefined : nodeNotice(d.observed.nodes.get(node), d.settings.noticeSignals);
  if (!notice || pod.status?.phase !== "Running" || pod.metadata?.deletionTimestamp || !pod.metadata?.uid) return;
  if (record.noticeAt === undefined) {
    record.noticeAt = notice.since ?? toTimestamp(d.now);
    record.noticeSource = notice.source;
    d.event("Normal", "ReclaimNotice", `${notice.source}: ${notice.detail} on node ${node}; asking attempt ${record.attempt}'s trainer for a checkpoint now`);
  }
  const ask = checkpointRequestAction(pod, checkpointRequestFor(pod, notice, record.noticeAt));
  if (ask !== undefined) d.actions.push(ask);
}

// ---- Removing pods whose attempt ended ----

/** Re-check soon after recording an outcome whose pod still has to be removed. */
const FOLLOW_UP_MS = 1_000;

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
      const assessment = assessPod(pod, d.observed.nodes);
      if (!assessment.ended && assessment.node.lost) {
        d.actions.push({ kind: "deletePod", name, uid, gracePeriodSeconds: 0, reason: "stuck on a lost node" });
      } else if (!isTerminating(pod)) {
        d.actions.push({ kind: "deletePod", name, uid, reason: "its attempt has ended" });
      }
    } else if (attempt < (d.status.attempt ?? 0)) {
      d.actions.push({ kind: "deletePod", name, uid, reason: "superseded by a newer attempt" });
    }
  }
}

// ---- Moving an unfinished run on ----

/** How long to wait before looking again for something no watch reports (a missing claim). */
const POLL_MS = 15_000;

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
    const moved = currentPod && !isTerminating(currentPod) ? applyFallback(d, spec, current, currentPod) : undefined;
    if (moved !== undefined) return setPhase(d, "Restarting", "FellBackToOnDemand", moved);
    if (currentPod && isTerminating(currentPod)) {
      // Deleted (drain, eviction, an unsuspend racing its own stop): a new attempt follows.
      setPhase(d, "Restarting", "PodTerminating", `attempt ${attempt} is stopping`);
    } else if (currentPod?.status?.phase === "Running") {
      setPhase(d, "Running", "TrainerRunning", `attempt ${attempt} is running`);
    } else {
      const blocked = blockedMessage(d);
      const unschedulable = currentPod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      if (blocked !== undefined) setPhase(d, waitingPhase(attempt), "WaitingForObject", blocked);
      else setPhase(d, waitingPhase(attempt), unschedulable?.reason ?? "PodPending", unschedulable?.message ?? `attempt ${attempt} is starting`);
    }
    return;
  }

  // Between attempts the run waits for the next one.
  const waiting = waitingPhase(attempt + 1);
  if (pods.alive.length > 0) {
    const names = pods.alive.map((p) => p.metadata?.name).join(", ");
    setPhase(d, waiting, "WaitingForPodTermination", `waiting for ${names} to terminate`);
    return;
  }
  const nextAttemptAt = toDate(d.status.nextAttemptAt);
  if (nextAttemptAt !== undefined && nextAttemptAt > d.now) {
    d.requeueIn(nextAttemptAt.getTime() - d.now.getTime());
    const blocked = current?.endReason === "Blocked" ? blockedMessage(d) : undefined;
    if (blocked !== undefined) setPhase(d, waiting, "WaitingForObject", `${blocked}; next attempt at ${d.status.nextAttemptAt}`);
    else setPhase(d, waiting, "BackoffAfterFailure", `next attempt at ${d.status.nextAttemptAt}`);
    return;
  }
  startAttempt(d, spec, attempt + 1, true);
}

/**
 * Creates the attempt's pod (and the checkpoint PVC when the operator owns it). A run on a
 * bucket has no PVC: none is awaited or created, whatever claim of its name exists.
 */
function startAttempt(d: Draft, spec: TrainingRunSpec, attempt: number, isNew: boolean): void {
  const { run } = d.observed;
  const onPvc = spec.checkpoint.storage?.s3 === undefined;
  const pvc = onPvc ? d.observed.pvc : undefined;
  const claimName = checkpointClaimName(run);
  const waiting = waitingPhase(attempt);
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
  const foreign = foreignTrainer(run, d.observed.otherPods ?? []);
  if (foreign !== undefined) {
    // Its run is gone or finished, or holds the location: either way it still writes there.
    const owner = foreign.metadata?.labels?.[RUN_LABEL] ?? "another run";
    setPhase(d, waiting, STORAGE_IN_USE, `pod ${foreign.metadata?.name} of TrainingRun ${owner} still writes to ${checkpointStorage(run)}; attempt ${attempt} starts once it has stopped`);
    return;
  }
  const refusal = d.observed.podRefusal;
  if (refusal !== undefined) {
    // The create was refused and is retried by the runtime: say why the run waits, and
    // record no attempt for a pod that does not exist.
    setPhase(d, waiting, refusal.reason, `attempt ${attempt} cannot start yet: ${refusal.message}`);
    return;
  }
  if (onPvc && pvc === undefined) d.actions.push({ kind: "createPVC", pvc: buildCheckpointPvc(run, spec.checkpoint, claimName) });
  d.status.checkpointStorage = checkpointStorage(run);
  const capacity = isNew ? capacityTypeOf(spec, d.status) : findRecord(d.status, attempt)?.capacityType;
  const pod = buildTrainerPod(run, spec, attempt, claimName, d.settings, capacity);
  d.actions.push({ kind: "createPod", pod });
  if (isNew) {
    Object.assign(addRecord(d.status, attempt, podName(run.metadata.name ?? "", attempt)), capacityOfNewAttempt(spec, d.status));
    d.status.attempt = attempt;
    d.status.startTime ??= toTimestamp(d.now);
    delete d.status.nextAttemptAt;
    d.event("Normal", "PodCreated", `Created pod ${pod.metadata?.name} for attempt ${attempt}`);
  }
  setPhase(d, waiting, "PodPending", `attempt ${attempt} is starting`);
}

/** The phase while attempt `attempt` is awaited: Pending for the first, Restarting for any later. */
function waitingPhase(attempt: number): Phase {
  return attempt > 1 ? "Restarting" : "Pending";
}

function setPhase(d: Draft, phase: Phase, reason: string, message: string): void {
  d.status.phase = phase;
  d.condition({ type: "Running", status: phase === "Running" ? "True" : "False", reason, message });
}
