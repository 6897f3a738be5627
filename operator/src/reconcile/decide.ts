// reconcile(observed) -> Decision: validate the run, bring the attempt history up to date
// with its pods, remove pods whose attempt ended, then move an unfinished run on (suspend,
// wait, or start the next attempt). Pure: no I/O, no clock reads, no randomness.
//
// Each status field has one writer (a file of the pass; the functions it exports):
//   decide.ts           observedGeneration, checkpointStorage, accounting
//   validate.ts         condition Valid
//   phase.ts            phase, completionTime, condition Running
//   attempts.ts         attempts (their records, pod, uid, node, start, disruptedRank), attempt, startTime
//   gang.ts             a gang's record: its ranks (pod, uid, node) and createdAt
//   attempt-end.ts      an attempt's end on its record, preemptions, quotaPreemptions, failures, nextAttemptAt,
//                       result, conditions Complete, Failed, CheckpointsUnusable
//   progress.ts         progress, lastCheckpoint, lostSteps, a record's reached and
//                       resumed-from steps, conditions CheckpointFailing, ProgressReported,
//                       FlushAtRisk
//   progress-writes.ts  progress.recordedAt, and holding a progress-only change back
//   capacity.ts         capacity
//   advance.ts          condition Suspended, a record's stoppedForSuspend
//   reclaim.ts          a record's noticeAt, noticeSource, earlyCheckpointStep
//   fallback.ts         a record's stoppedForMove
//   missing-object.ts   condition ObjectsFound
//   queue.ts            condition Queued, a record's admittedAt
//   preemption-cost.ts  preemptionCost
import { locationName } from "@resumable/protocol";
import { RUN_LABEL } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord } from "../api/status.js";
import { nextAccounting } from "../model/accounting.js";
import { classifyPods, findRecord, isTerminating } from "../model/observe.js";
import { toDate } from "../model/time.js";
import type { OperatorSettings } from "../model/settings.js";
import { foreignTrainer, STORAGE_IN_USE } from "../model/storage-claims.js";
import type { Decision, Observed } from "../model/types.js";
import { advance } from "./advance.js";
import { clearRetry, countBudgets } from "./attempt-end.js";
import { beginAttempt, recordAttempts, removeFinishedPods, trimHistory } from "./attempts.js";
import { capacityOfNewAttempt, capacityTypeOf, keepCapacityState } from "./capacity.js";
import { Draft } from "./draft.js";
import { isFinished, pendingUntilValid, sayFinished, setPhase, waitingPhase } from "./phase.js";
import { countLostSteps } from "./progress.js";
import { coalesceProgress } from "./progress-writes.js";
import { gangRecord } from "./gang.js";
import { nudgeScheduler } from "./claim-nudge.js";
import { lostButSchedulable } from "./pod-outcome.js";
import { buildAttemptPods, buildCheckpointPvc, buildRunService } from "./render.js";
import { validSpec } from "./validate.js";
import { notePreemptionCost, publishPreemptionCost } from "./preemption-cost.js";
import { settleQueued } from "./queue.js";
import type { V1Pod } from "@kubernetes/client-node";

/**
 * One level-based pass: from what is observed now (and the memory kept in status) to the
 * actions, the new status, the events and when to look again. Pure: no I/O, no clock.
 */
export function reconcile(observed: Observed, settings: OperatorSettings): Decision {
  const d = new Draft(observed, settings);
  const generation = observed.run.metadata.generation;
  if (generation !== undefined) d.status.observedGeneration = generation;
  const spec = validSpec(d);
  if (spec === undefined) {
    pendingUntilValid(d);
    return finish(d);
  }
  countBudgets(d);
  countLostSteps(d);
  keepCapacityState(d, spec);
  const pods = classifyPods(observed.pods, observed.run);

  recordAttempts(d, pods, spec);
  removeFinishedPods(d, pods);
  nudgeScheduler(d, pods.all.get(pods.newestAttempt) ?? []);
  if (isFinished(d.status.phase)) {
    sayFinished(d);
  } else {
    const next = advance(d, pods, spec);
    if (next !== undefined) startAttempt(d, spec, next.attempt, next.isNew);
  }
  return finish(d, observed.pods);
}

function finish(d: Draft, pods: readonly V1Pod[] = []): Decision {
  trimHistory(d.status, d.settings.attemptHistoryLimit);
  // A function of the attempt records: it changes when an attempt ends, not with the clock.
  if (d.status.attempts !== undefined) d.status.accounting = nextAccounting(d.observed.run.status, d.status.attempts, d.settings.prices ?? {});
  settleQueued(d);
  notePreemptionCost(d);
  // Last: it compares the finished status with the observed one.
  coalesceProgress(d);
  // What the status write will say, also on the pod: it moves with the written progress only.
  publishPreemptionCost(d, pods);
  return d.decision();
}

/** How long to wait before looking again for something no watch reports (a missing claim). */
const POLL_MS = 15_000;

/** The longest a next attempt waits for a lost node's unreachable taint (pod-outcome.ts lostButSchedulable). */
const LOST_NODE_TAINT_WAIT_MS = 30_000;

/** Every node an attempt's pods were on: its pod's, or each rank's. */
function nodesOf(record: AttemptRecord | undefined): string[] {
  if (record === undefined) return [];
  return [record.node, ...(record.ranks ?? []).map((r) => r.node)].filter((n): n is string => n !== undefined);
}

/**
 * Creates the attempt's pod (and the checkpoint PVC when the operator owns it). A run on a
 * bucket has no PVC: none is awaited or created, whatever claim of its name exists.
 */
function startAttempt(d: Draft, spec: TrainingRunSpec, attempt: number, isNew: boolean): void {
  const { run, location } = d.observed;
  // Validation refuses a spec too broken to name a location before any attempt starts.
  if (location === undefined) return;
  // The pass's one branch on volume or bucket: only a volume has a claim to await or create.
  const claim = location.kind === "volume" ? { name: location.claimName, pvc: d.observed.pvc } : undefined;
  const waiting = waitingPhase(attempt);
  if (claim !== undefined && claim.pvc === undefined && spec.checkpoint.claimName !== undefined) {
    d.requeueIn(POLL_MS);
    setPhase(d, waiting, "ClaimNotFound", `PersistentVolumeClaim ${claim.name} (spec.checkpoint.claimName) does not exist`);
    return;
  }
  if (claim?.pvc !== undefined && isTerminating(claim.pvc)) {
    d.requeueIn(POLL_MS);
    setPhase(d, waiting, "ClaimTerminating", `PersistentVolumeClaim ${claim.name} is being deleted`);
    return;
  }
  const untainted = isNew ? lostButSchedulable(nodesOf(findRecord(d.status, attempt - 1)), d.observed.nodes) : [];
  const ended = toDate(findRecord(d.status, attempt - 1)?.endTime);
  if (untainted.length > 0 && ended !== undefined && d.now.getTime() - ended.getTime() < LOST_NODE_TAINT_WAIT_MS) {
    // A short wait, bounded for a cluster whose node lifecycle controller never taints.
    d.requeueIn(Math.min(1_000, ended.getTime() + LOST_NODE_TAINT_WAIT_MS - d.now.getTime()));
    const nodes = untainted.join(", ");
    setPhase(d, waiting, "LostNodeUntainted", `node ${nodes} of attempt ${attempt - 1} is lost but not yet tainted unreachable; attempt ${attempt} starts once the scheduler cannot place it there`);
    return;
  }
  const foreign = foreignTrainer(run, location, d.observed.otherPods ?? []);
  if (foreign !== undefined) {
    // Its run is gone or finished, or holds the location: either way it still writes there.
    const owner = foreign.metadata?.labels?.[RUN_LABEL] ?? "another run";
    setPhase(d, waiting, STORAGE_IN_USE, `pod ${foreign.metadata?.name} of TrainingRun ${owner} still writes to ${locationName(location)}; attempt ${attempt} starts once it has stopped`);
    return;
  }
  const refusal = d.observed.podRefusal;
  if (refusal !== undefined) {
    // The create was refused and is retried by the runtime: say why the run waits, and
    // record no attempt for a pod that does not exist.
    setPhase(d, waiting, refusal.reason, `attempt ${attempt} cannot start yet: ${refusal.message}`);
    return;
  }
  if (claim !== undefined && claim.pvc === undefined) d.actions.push({ kind: "createPVC", pvc: buildCheckpointPvc(run, spec.checkpoint, claim.name) });
  d.status.checkpointStorage = locationName(location);
  const capacity = isNew ? capacityTypeOf(spec, d.status) : findRecord(d.status, attempt)?.capacityType;
  const pods = buildAttemptPods(run, spec, attempt, location, d.settings, capacity);
  for (const pod of pods) d.actions.push({ kind: "createPod", pod });
  if (pods.length > 1) d.actions.push({ kind: "createService", service: buildRunService(run) });
  if (isNew) {
    const names = pods.map((pod) => pod.metadata?.name ?? "");
    beginAttempt(d, attempt, names[0] ?? "", { ...capacityOfNewAttempt(spec, d.status), ...gangRecord(names, d.now) });
    clearRetry(d);
    d.event("Normal", "PodCreated", `Created ${names.length > 1 ? `pods ${names.join(", ")}` : `pod ${names[0]}`} for attempt ${attempt}`);
  }
  setPhase(d, waiting, "PodPending", `attempt ${attempt} is starting`);
}
