// What one pod says about its attempt: ended (and how, from the trainer's exit code, its
// summary and the disruption rule), still running, or stuck on a lost node. Reads only:
// writes nothing to status.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { disruptionOf, exitReason, type FailureKind, type ParsedExitSummary, type PlannedStop } from "@resumable/protocol";
import type { EndReason } from "../api/status.js";
import { queueStopOf, type QueueWorkload } from "../model/kueue.js";
import { readSummary, trainerMessage, trainerStatus } from "../model/observe.js";
import { toDate } from "../model/time.js";

/** How an attempt ended, decided from one pod. */
export interface Outcome {
  reason: Exclude<EndReason, "Suspended">;
  /** The signal it was decided from: a DisruptionTarget reason, OOMKilled, ExitCode, … */
  detail: string;
  exitCode?: number;
  summary?: ParsedExitSummary;
  /** The trainer's own words about a failure (its summary's failure.message or error). */
  message?: string;
  /** A failure a retry cannot fix: a rejected config or a storage refusal (exit 2), unusable checkpoints (exit 5). */
  permanent?: boolean;
}

export type PodAssessment =
  | { ended: Outcome }
  | { ended?: undefined; running: boolean; node: NodeHealth };

export type NodeHealth = { lost: false } | { lost: true; since?: Date };

/** Waiting reasons after which the trainer will not start without a change somewhere. */
const CANNOT_START_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "InvalidImageName",
  "ImagePullBackOff",
  "ErrImageNeverPull",
]);

/** The detail of a failure the trainer named by its exit code (docs/trainer-protocol.md). */
const EXIT_FAILURES: Partial<Record<NonNullable<ReturnType<typeof exitReason>>, { detail: string; permanent?: true }>> = {
  config: { detail: "InvalidConfig", permanent: true },
  fenced: { detail: "Fenced" },
  storage: { detail: "StorageError" },
  checkpointsUnusable: { detail: "CheckpointsUnusable", permanent: true },
  diverged: { detail: "Diverged" },
  // A gang's rank whose peer died or stalled (gang.ts decides whose outcome it is part of).
  peerLost: { detail: "PeerLost" },
};

/** Exit 2 failures about checkpoint storage, by the summary's failure kind: not InvalidConfig of spec.training. */
const STORAGE_CONFIG_FAILURES: Partial<Record<FailureKind, { detail: string; permanent: true }>> = {
  storageRefused: { detail: "StorageRefused", permanent: true },
  locationOwned: { detail: "StorageInUse", permanent: true },
};

/**
 * `planned`: the operator asked this pod to stop for a planned move (see disruptionOf).
 * `workload`: the Kueue Workload of the pod's group, when the run is queued and it is known.
 */
export function assessPod(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>, planned?: PlannedStop, workload?: QueueWorkload): PodAssessment {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { ended: terminalOutcome(pod, planned, workload) };
  const waiting = trainerStatus(pod)?.state?.waiting?.reason;
  if (waiting !== undefined && CANNOT_START_REASONS.has(waiting)) {
    return { ended: { reason: "Failed", detail: waiting } };
  }
  return { running: phase === "Running", node: nodeHealth(pod, nodes) };
}

function terminalOutcome(pod: V1Pod, planned: PlannedStop | undefined, workload: QueueWorkload | undefined): Outcome {
  const terminated = trainerStatus(pod)?.state?.terminated;
  const exitCode = terminated?.exitCode;
  const summary = readSummary(terminated?.message);
  const ended = (reason: Outcome["reason"], detail: string, extra: Partial<Outcome> = {}): Outcome => ({
    reason,
    detail,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(summary === undefined ? {} : { summary }),
    ...extra,
  });

  const disruption = disruptionOf(pod, { code: exitCode, summary }, planned);
  if (disruption?.planned) return ended("Moved", "ReturnToSpot");
  // Kueue stops a pod by marking it (TerminationTarget) and deleting it: the delete is the
  // signal the protocol sees, the mark says whose and why.
  if (disruption !== undefined) return ended("Preempted", queueStopOf(pod, workload) ?? disruption.signal);
  if (exitCode === 0 && summary?.reason !== "failed") return ended("Succeeded", "Completed");
  const message = trainerMessage(summary, terminated?.message);
  const failed = (detail: string, permanent?: boolean) =>
    ended("Failed", detail, { ...(message === undefined ? {} : { message }), ...(permanent ? { permanent } : {}) });
  if (terminated?.reason === "OOMKilled") return failed("OOMKilled");
  // Exit 2 is a refused config unless the summary says the checkpoint store refused the
  // trainer, or that another run owns the checkpoint location.
  const configKind = exitReason(exitCode) === "config" ? summary?.failure?.kind : undefined;
  const named = (configKind && STORAGE_CONFIG_FAILURES[configKind]) ?? EXIT_FAILURES[exitReason(exitCode) ?? "failed"];
  if (named !== undefined) return failed(named.detail, named.permanent);
  if (exitCode !== undefined) return failed("ExitCode");
  // Failed without the trainer ever running, e.g. rejected at kubelet admission.
  return ended("Failed", pod.status?.reason ?? "PodFailed");
}

function nodeHealth(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>): NodeHealth {
  const nodeName = pod.spec?.nodeName;
  // No nodes at all means a node cache that is empty or broken (the operator itself runs on
  // a node), not a cluster without nodes: giving up every pod on that evidence would be worse.
  if (nodeName === undefined || nodes.size === 0) return { lost: false };
  const node = nodes.get(nodeName);
  if (node === undefined) return { lost: true };
  if (!isLost(node)) return { lost: false };
  const since = toDate(readyCondition(node)?.lastTransitionTime);
  return since === undefined ? { lost: true } : { lost: true, since };
}

/** The one rule for a lost node: its Ready condition is not True (False, Unknown, or none). */
function isLost(node: V1Node): boolean {
  return readyCondition(node)?.status !== "True";
}

function readyCondition(node: V1Node) {
  return node.status?.conditions?.find((c) => c.type === "Ready");
}

/**
 * The taints the node lifecycle controller puts on a node that is not Ready. The scheduler
 * does not read the Ready condition: until one of these is on the node (or it is cordoned or
 * gone), it may still place a pod there.
 */
const NOT_READY_TAINTS = new Set(["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]);

/**
 * Of `names`, the nodes that are lost but that the scheduler could still pick: the operator
 * sees Ready go Unknown in the same update the node lifecycle controller acts on, and may be
 * faster than its NoSchedule taint. A next attempt created in that window can land on the
 * dead node (and be lost with it).
 */
export function lostButSchedulable(names: readonly string[], nodes: ReadonlyMap<string, V1Node>): string[] {
  return [...new Set(names)].filter((name) => {
    const node = nodes.get(name);
    if (node === undefined || !isLost(node) || node.spec?.unschedulable === true) return false;
    return !(node.spec?.taints ?? []).some((t) => NOT_READY_TAINTS.has(t.key) && (t.effect === "NoSchedule" || t.effect === "NoExecute"));
  });
}
