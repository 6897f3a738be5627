import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord, Phase } from "../api/status.js";
import { endAttempt } from "./attempt-end.js";
import { addRecord, findRecord, noteProgress, notePod, trimHistory } from "./attempts.js";
import { advance } from "./advance.js";
import { Draft } from "./draft.js";
import { sortPods, type ObservedPods } from "./observed-pods.js";
import { assessPod } from "./pod-assessment.js";
import { removeFinishedPods } from "./pod-cleanup.js";
import { watchProgressReports } from "./progress-watch.js";
import type { OperatorSettings } from "./settings.js";
import { toDate, toTimestamp } from "./time.js";
import { readProgress } from "./trainer-reports.js";
import type { Decision, Observed } from "./types.js";
import { validateRun } from "./validate.js";

/**
 * One level-based pass: from what is observed now (and the memory kept in status) to the
 * actions, the new status, the events and when to look again. Pure: no I/O, no clock.
 */
export function reconcile(observed: Observed, settings: OperatorSettings): Decision {
  const d = new Draft(observed, settings);
  const generation = observed.run.metadata.generation;
  if (generation !== undefined) d.status.observedGeneration = generation;
  const validation = validateRun(observed.run, observed.pvc, settings, observed.podRejection);
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
  notePod(record, pod, d.now);
  const progress = readProgress(pod);
  if (progress) noteProgress(d, record, progress);
  const assessment = assessPod(pod, d.observed.nodes);
  if (assessment.ended) {
    endAttempt(d, record, assessment.ended, spec);
    return;
  }
  if (!assessment.node.lost) {
    delete record.nodeLostAt;
    watchProgressReports(d, record, pod, progress !== undefined);
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
