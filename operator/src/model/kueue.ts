// Kueue's names and what is read from them: the queue a run asks for, the scheduling gate a
// queued pod waits behind, the mark Kueue leaves on a pod it stops, and the conditions of the
// Workload it makes for an attempt's pod group (Kueue v0.19, pod-group integration; see
// docs/kueue.md). Shared by the pass, the controller's cache and the CLI; decides nothing.
import type { V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../api/trainingrun.js";

/** On the TrainingRun (and copied to its pods): the LocalQueue its attempts are queued in. */
export const QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
/** On the TrainingRun (and copied): the WorkloadPriorityClass of its attempts. */
export const PRIORITY_CLASS_LABEL = "kueue.x-k8s.io/priority-class";
/** One pod group per attempt: its Workload is named after it. */
export const POD_GROUP_LABEL = "kueue.x-k8s.io/pod-group-name";
/** How many pods make the group: the gang's workers, admitted whole or not at all. */
export const POD_GROUP_COUNT_ANNOTATION = "kueue.x-k8s.io/pod-group-total-count";
/**
 * "false": a pod of the group that ends is never replaced inside the group, so the group is
 * finished (its quota released, its pods' finalizers removed) once none is running. The
 * operator's next attempt is a new group that goes back through the queue.
 */
export const RETRIABLE_IN_GROUP_ANNOTATION = "kueue.x-k8s.io/retriable-in-group";
/** Kueue's webhook gates every queued pod with these until its group is admitted (v0.19 adds topology). */
const KUEUE_GATE_PREFIX = "kueue.x-k8s.io/";
/** The pod condition Kueue sets before it deletes a pod it stops (its reason: why). */
const TERMINATION_TARGET = "TerminationTarget";
/**
 * The stop reason of an evicted Workload: `WorkloadEvicted`, to which v0.19 appends
 * `DueTo<the Evicted reason>` (jobframework/reconciler.go), e.g. WorkloadEvictedDueToPreempted.
 */
const WORKLOAD_EVICTED = "WorkloadEvicted";
const DUE_TO = "DueTo";
/** The Evicted reason of a preempted Workload. */
const PREEMPTED = "Preempted";

/** The endDetail of an attempt stopped because Kueue preempted its Workload for another's quota. */
export const QUOTA_PREEMPTED = "QuotaPreempted";

/** The queue a run's attempts join, or undefined: no queue, the run goes straight to the scheduler. */
export function queueOf(run: TrainingRun): string | undefined {
  const queue = run.metadata.labels?.[QUEUE_LABEL];
  return queue === undefined || queue === "" ? undefined : queue;
}

/** The pod group (and Workload) name of an attempt: the attempt's pod name prefix. */
export function podGroupName(runName: string, attempt: number): string {
  return `${runName}-${attempt}`;
}

/** The pod still waits for Kueue's admission: it holds no node and no accelerator. */
export function isQueueGated(pod: V1Pod): boolean {
  return pod.spec?.schedulingGates?.some((g) => g.name.startsWith(KUEUE_GATE_PREFIX)) ?? false;
}

/**
 * Why Kueue stopped the pod, as an endDetail: QuotaPreempted for an eviction that preempted
 * it (the TerminationTarget reason, else the Workload's Evicted reason or the mark's message),
 * `Kueue<reason>` for any other stop (KueueEvictedPodsReadyTimeout, KueueWorkloadDeleted).
 * Undefined: Kueue did not stop it.
 */
export function queueStopOf(pod: V1Pod, workload?: QueueWorkload): string | undefined {
  const mark = pod.status?.conditions?.find((c) => c.type === TERMINATION_TARGET && c.status === "True");
  if (mark === undefined) return undefined;
  const reason = mark.reason ?? "";
  const evicted = workloadCondition(workload, "Evicted");
  const said = reason.startsWith(WORKLOAD_EVICTED + DUE_TO) ? reason.slice(WORKLOAD_EVICTED.length + DUE_TO.length) : undefined;
  const preempted = said !== undefined ? said === PREEMPTED : evicted?.status === "True" ? evicted.reason === PREEMPTED : (mark.message ?? "").startsWith(PREEMPTED);
  if (reason.startsWith(WORKLOAD_EVICTED) && preempted) return QUOTA_PREEMPTED;
  const named = said === undefined ? reason : `Evicted${said}`;
  return `Kueue${/^[A-Za-z]+$/.test(named) ? named : "Stopped"}`;
}

/** An endDetail that says Kueue stopped the attempt: a preemption charged to no budget. */
export function isQueueStop(detail: string | undefined): boolean {
  return detail === QUOTA_PREEMPTED || (detail?.startsWith("Kueue") ?? false);
}

// ---- The Workload ----

/** What is read of a Kueue Workload (workloads.kueue.x-k8s.io): its name and conditions. */
export interface QueueWorkload {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  status?: {
    conditions?: readonly { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string | Date }[];
    admission?: { clusterQueue?: string };
  };
}

export function workloadCondition(workload: QueueWorkload | undefined, type: string) {
  return workload?.status?.conditions?.find((c) => c.type === type);
}

/**
 * What Kueue says about a group it has not admitted: the reason and message of its
 * QuotaReserved=False (e.g. Pending, "couldn't assign flavors ...: insufficient unused
 * quota"), or of an eviction that put it back in the queue.
 */
export function pendingReason(workload: QueueWorkload | undefined): { reason: string; message: string } | undefined {
  const evicted = workloadCondition(workload, "Evicted");
  const reserved = workloadCondition(workload, "QuotaReserved");
  const said = reserved?.status === "False" ? reserved : evicted?.status === "True" ? evicted : undefined;
  if (said === undefined) return undefined;
  return { reason: said.reason ?? "Pending", message: said.message ?? "" };
}
