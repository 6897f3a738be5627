import { EXIT_CODES } from "./exit-codes.js";

/**
 * The pod fields the disruption rule reads: structurally a subset of client-node's V1Pod,
 * so neither side needs client-node. Timestamps are Dates in list results, strings in
 * watch events: both are accepted.
 */
export interface PodFacts {
  metadata?: {
    deletionTimestamp?: Date | string | null | undefined;
    deletionGracePeriodSeconds?: number | null | undefined;
  };
  status?: {
    reason?: string | undefined;
    conditions?: readonly { type: string; status: string; reason?: string | undefined; lastTransitionTime?: Date | string | undefined }[] | undefined;
  };
}

/** The trainer's exit, once its container terminated. */
export interface TrainerExit {
  code?: number | undefined;
  summary?: { reason?: string | undefined } | undefined;
}

export interface Disruption {
  /** What showed it: a DisruptionTarget reason, a pod reason, PodDeleted, TrainerPreempted or PlannedMove. */
  signal: string;
  /** When the pod was first told to go (epoch ms), when a condition or delete request says so. */
  markedAt?: number;
  /**
   * The operator stopped the pod itself, on purpose (a planned move such as the return to
   * spot): the trainer checkpoints as for a preemption, but it is neither a preemption nor a
   * failure and counts against no budget.
   */
  planned?: true;
}

/** The operator's own request that the pod stop (a planned move), as the caller knows it. */
export interface PlannedStop {
  /** When the operator decided it (epoch ms). */
  requestedAt: number;
}

/** Pod reasons the kubelet and node lifecycle controllers use for pods they killed. */
const DISRUPTED_POD_REASONS = new Set(["Evicted", "Terminated", "Shutdown", "NodeLost"]);

/**
 * Whether a pod was disrupted (preempted) rather than ending on its own: the one rule for
 * what the operator counts as a preemption and what the recovery metric measures from.
 * Without `exit` (a pod still running) only the signals from outside are read.
 *
 * `planned`: the operator asked this pod to stop (a planned move). A delete request or a
 * trainer that checkpointed and exited as preempted is then that plan (`planned: true`),
 * while a signal only the node or the cloud gives (DisruptionTarget, a kubelet reason) is
 * still a preemption that happened to come first.
 */
export function disruptionOf(pod: PodFacts, exit?: TrainerExit, planned?: PlannedStop): Disruption | undefined {
  // Exit 0 is a completion even on a pod marked for disruption (kubernetes#115688), unless
  // the summary says otherwise.
  const summaryReason = exit?.summary?.reason;
  if (exit?.code === EXIT_CODES.completed && summaryReason !== "preempted" && summaryReason !== "failed") return undefined;
  const outside = outsideSignal(pod);
  if (planned !== undefined && (outside === undefined || outside === "PodDeleted")) {
    const trainerStopped = summaryReason === "preempted" || exit?.code === EXIT_CODES.preempted;
    if (outside === "PodDeleted" || trainerStopped) return { signal: "PlannedMove", planned: true, ...markedAt(pod) };
  }
  if (outside !== undefined) return { signal: outside, ...markedAt(pod) };
  // SIGTERM from somewhere the pod does not show (a preStop hook, a node agent).
  if (summaryReason === "preempted" && (exit?.code === EXIT_CODES.preempted || exit?.code === EXIT_CODES.completed)) {
    return { signal: "TrainerPreempted" };
  }
  return undefined;
}

function outsideSignal(pod: PodFacts): string | undefined {
  const target = disruptionTarget(pod);
  if (target) return target.reason ?? "DisruptionTarget";
  const reason = pod.status?.reason;
  if (reason !== undefined && DISRUPTED_POD_REASONS.has(reason)) return reason;
  // Deleted by someone while it ran; the operator's own deletions are told apart by the caller.
  if (isDeleted(pod)) return "PodDeleted";
  return undefined;
}

/**
 * The earliest mark: the DisruptionTarget condition, or the delete request
 * (deletionTimestamp is the kill deadline, so the grace period is taken off again).
 */
function markedAt(pod: PodFacts): { markedAt?: number } {
  const marks: number[] = [];
  const condition = toMs(disruptionTarget(pod)?.lastTransitionTime);
  if (condition !== undefined) marks.push(condition);
  const deadline = toMs(pod.metadata?.deletionTimestamp);
  if (deadline !== undefined) marks.push(deadline - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000);
  return marks.length > 0 ? { markedAt: Math.min(...marks) } : {};
}

function disruptionTarget(pod: PodFacts) {
  return pod.status?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
}

function isDeleted(pod: PodFacts): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

function toMs(value: Date | string | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}
