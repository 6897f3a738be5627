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
  /** What showed it: a DisruptionTarget reason, a pod reason, PodDeleted or TrainerPreempted. */
  signal: string;
  /** When the pod was first told to go (epoch ms), when a condition or delete request says so. */
  markedAt?: number;
}

/** Pod reasons the kubelet and node lifecycle controllers use for pods they killed. */
const DISRUPTED_POD_REASONS = new Set(["Evicted", "Terminated", "Shutdown", "NodeLost"]);

/**
 * Whether a pod was disrupted (preempted) rather than ending on its own: the one rule for
 * what the operator counts as a preemption and what the recovery metric measures from.
 * Without `exit` (a pod still running) only the signals from outside are read.
 */
export function disruptionOf(pod: PodFacts, exit?: TrainerExit): Disruption | undefined {
  // Exit 0 is a completion even on a pod marked for disruption (kubernetes#115688), unless
  // the summary says otherwise.
  const summaryReason = exit?.summary?.reason;
  if (exit?.code === EXIT_CODES.completed && summaryReason !== "preempted" && summaryReason !== "failed") return undefined;
  const outside = outsideSignal(pod);
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
