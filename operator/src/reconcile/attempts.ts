// The attempt history in status.attempts, kept up to date with the run's pods: a record per
// attempt (adopted when its status write was lost), what its pod says while it runs, its end
// when the pod says it ended, and the removal of pods whose attempt ended.
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, TrainingRunStatus } from "../api/status.js";
import { attemptOfPod, findRecord, isAlive, isTerminating, podName, readProgress, type ObservedPods } from "../model/observe.js";
import { seenAt, toDate, toTimestamp } from "../model/time.js";
import { endAttempt } from "./attempt-end.js";
import { plannedStopOf } from "./capacity.js";
import type { Draft } from "./draft.js";
import { missingObject, objectsFound, waitForObject } from "./missing-object.js";
import { assessPod } from "./pod-outcome.js";
import { assessGang, checkFormation, gangRecord, noteRanks, publishPeers, rankPods } from "./gang.js";
import { noteProgress, watchFlushFit, watchProgressReports } from "./progress.js";
import { followAdmission, workloadOf } from "./queue.js";
import { followNotice, noteEarlyCheckpoint } from "./reclaim.js";

/** The node label the price table is keyed by. */
const INSTANCE_TYPE = "node.kubernetes.io/instance-type";

function addRecord(status: TrainingRunStatus, attempt: number, pod: string): AttemptRecord {
  const record: AttemptRecord = { attempt, pod };
  status.attempts = [...(status.attempts ?? []), record].sort((a, b) => a.attempt - b.attempt);
  return record;
}

/** A new attempt's record, as its pod is created: the newest attempt, and the run's start if it is the first. */
export function beginAttempt(d: Draft, attempt: number, pod: string, fields: Partial<AttemptRecord>): void {
  Object.assign(addRecord(d.status, attempt, pod), fields);
  d.status.attempt = attempt;
  d.status.startTime ??= toTimestamp(d.now);
}

/**
 * Facts about the pod that only exist once it does. Its start is taken as seen (seenAt):
 * the kubelet's whole-second stamp could put a quick successor's start before its
 * predecessor's end, and recovery times and goodput are computed from these records.
 */
function notePod(record: AttemptRecord, pod: V1Pod, now: Date): void {
  const uid = pod.metadata?.uid;
  const node = pod.spec?.nodeName;
  const started = toDate(pod.status?.startTime);
  if (uid !== undefined) record.uid = uid;
  if (node !== undefined) record.node = node;
  if (started !== undefined) record.startTime ??= toTimestamp(new Date(seenAt(started.getTime(), now)));
}

/** Keeps the newest records (an unfinished attempt is always among them), never fewer than 2. */
export function trimHistory(status: TrainingRunStatus, limit: number): void {
  const keep = Math.max(2, limit);
  if (status.attempts && status.attempts.length > keep) status.attempts = status.attempts.slice(-keep);
}

/** Brings status.attempts up to date with the pods and decides the attempts that ended. */
export function recordAttempts(d: Draft, pods: ObservedPods, spec: TrainingRunSpec): void {
  const known = d.status.attempt ?? 0;
  // Pods newer than status know are ours whose status write was lost: adopt them.
  for (const [attempt, pod] of pods.byAttempt) {
    if (attempt > known && !findRecord(d.status, attempt)) {
      const record = addRecord(d.status, attempt, pod.metadata?.name ?? "");
      // A gang's: its ranks as the spec names them, its formation bound from now.
      const ranks = pods.ranks.has(attempt) ? Array.from({ length: spec.workers }, (_, r) => podName(d.observed.run.metadata.name ?? "", attempt, r)) : [];
      if (ranks.length > 1) Object.assign(record, { pod: ranks[0] }, gangRecord(ranks, d.now));
    }
  }
  d.status.attempt = Math.max(known, pods.newestAttempt);

  for (const record of d.status.attempts ?? []) {
    if (record.endTime !== undefined) continue;
    const ranks = record.ranks === undefined ? undefined : rankPods(d, record, pods);
    // A gang is followed through rank 0's pod, or any rank's while rank 0's is not seen.
    const pod = ranks === undefined ? (pods.byAttempt.get(record.attempt) ?? endedAndGone(d, record)) : (ranks[0] ?? ranks.find((p) => p !== undefined));
    if (pod) {
      followPod(d, record, pod, spec, ranks);
    } else if (record.uid !== undefined || record.attempt < d.status.attempt) {
      // Seen before and now gone without a terminal state: deleted while it ran, by us for a
      // planned move or by someone else.
      const planned = plannedStopOf(record, d.status) !== undefined;
      endAttempt(d, record, planned ? { reason: "Moved", detail: "ReturnToSpot" } : { reason: "Preempted", detail: "PodDeleted" }, spec);
    }
    // Otherwise the pod was created but is not in the cache yet: advance() re-creates it.
  }
}

/** The attempt's pod as it was when it ended, if it has been deleted since (Observed.endedPodsGone). */
function endedAndGone(d: Draft, record: AttemptRecord): V1Pod | undefined {
  const run = d.observed.run.metadata.name ?? "";
  return d.observed.endedPodsGone?.find((p) =>
    attemptOfPod(p, run) === record.attempt && (record.uid === undefined || p.metadata?.uid === record.uid));
}

/** `ranks`: a gang's pods by rank, whose one outcome gang.ts reads; `pod` is then its rank 0 (if seen). */
function followPod(d: Draft, record: AttemptRecord, pod: V1Pod, spec: TrainingRunSpec, ranks?: readonly (V1Pod | undefined)[]): void {
  // A gang's record says rank 0's pod, uid, node and start, as a single pod's says its own.
  if (ranks === undefined || ranks[0] === pod) notePod(record, pod, d.now);
  if (ranks !== undefined) noteRanks(record, ranks);
  const instanceType = record.node === undefined ? undefined : d.observed.nodes.get(record.node)?.metadata?.labels?.[INSTANCE_TYPE];
  if (instanceType !== undefined) record.instanceType ??= instanceType;
  const progress = readProgress(pod);
  if (progress) noteProgress(d, record, progress);
  // Before the end check: the report of an early checkpoint often arrives in the same pass
  // that sees the pod ended, when the reclaim follows the checkpoint closely.
  noteEarlyCheckpoint(d, record, progress?.earlyCheckpointStep);
  // Not a failure of the trainer, which never started: the run waits for the object.
  const pods = ranks?.filter((p) => p !== undefined) ?? [pod];
  for (const p of pods) {
    const missing = isTerminating(p) ? undefined : missingObject(p, d.observed.mountFailures ?? []);
    if (missing !== undefined) return waitForObject(d, record, missing, spec);
  }
  const queued = followAdmission(d, record, ranks ?? [pod]);
  const planned = plannedStopOf(record, d.status);
  const workload = workloadOf(d, record.attempt);
  const gang = ranks === undefined ? undefined : assessGang(record, ranks, d.observed.nodes, planned, workload);
  const assessment = gang ?? assessPod(pod, d.observed.nodes, planned, workload);
  if (assessment.ended) {
    const disrupted = assessment.ended.reason === "Preempted" || assessment.ended.reason === "Moved";
    if (gang?.ended !== undefined && disrupted) record.disruptedRank = gang.rank;
    endAttempt(d, record, assessment.ended, spec);
    return;
  }
  if (!assessment.node.lost) {
    delete record.nodeLostAt;
    if (assessment.running) objectsFound(d, record);
    watchProgressReports(d, record, pod, progress !== undefined);
    // Rank 0's: its flush is the gang's (it alone writes the final checkpoint).
    if (progress?.flushSeconds !== undefined) watchFlushFit(d, record, pod, progress.flushSeconds);
    // A notice on any rank's node asks that rank: the ranks agree on the step among themselves.
    for (const p of pods) followNotice(d, record, p);
    if (ranks !== undefined) {
      publishPeers(d, record.attempt, ranks);
      // Queued: not placed yet, and not partially either; the bound starts at admission.
      if (!assessment.running && queued === undefined) checkFormation(d, record, ranks, spec);
    }
    return;
  }
  // A node that is NotReady or gone cannot confirm the pod's end: give up on it after the
  // timeout. The trainer's fence keeps a zombie from committing if it still runs.
  const lostAt = toDate(record.nodeLostAt) ?? assessment.node.since ?? d.now;
  record.nodeLostAt = toTimestamp(lostAt);
  const giveUpAt = lostAt.getTime() + d.settings.stuckPodTimeoutSeconds * 1000;
  if (d.now.getTime() >= giveUpAt) {
    if (gang?.ended === undefined && gang?.lostRank !== undefined) record.disruptedRank = gang.lostRank;
    endAttempt(d, record, { reason: "Preempted", detail: "NodeLost" }, spec);
  } else {
    d.requeueIn(giveUpAt - d.now.getTime());
  }
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
export function removeFinishedPods(d: Draft, pods: ObservedPods): void {
  const before = d.observed.run.status;
  // Every pod: a gang's ranks go with their attempt.
  for (const [attempt, pod] of [...pods.all].flatMap(([a, list]) => list.map((p) => [a, p] as const))) {
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
    } else if (attempt < (d.status.attempt ?? 0) && !isTerminating(pod)) {
      // Asked once: a finalizer (Kueue's, on a queued run's pods) may keep it a while.
      d.actions.push({ kind: "deletePod", name, uid, reason: "superseded by a newer attempt" });
    }
  }
}
