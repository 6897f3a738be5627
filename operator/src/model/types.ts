// What one reconcile pass reads (Observed) and what it returns (Decision): the interface
// between the controller and the pure pass (reconcile/decide.ts), shared by both.
import type { CoreV1Event, V1Node, V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import type { TrainingRun } from "../api/trainingrun.js";
import type { TrainingRunStatus } from "../api/status.js";
import type { QueueWorkload } from "./kueue.js";
import type { RunLocation } from "./observe.js";
import type { OperatorSettings } from "./settings.js";

/**
 * Everything one reconcile pass looks at, read from caches. Timestamps may be Date objects
 * (list results) or RFC 3339 strings (watch events): reconcile accepts both (see toDate).
 * Never mutated by reconcile.
 */
export interface Observed {
  run: TrainingRun;
  /** Pods labelled resumable.dev/run=<run name> in the run's namespace, any phase. */
  pods: readonly V1Pod[];
  /**
   * The last state of the run's pods that ended and were then deleted, as the cache last saw
   * them. A pod can end and go between two passes (the kubelet deletes a gracefully deleted
   * pod as soon as it has posted its terminal status); its exit summary, the final flush among
   * it, is read from here. Unset: none.
   */
  endedPodsGone?: readonly V1Pod[];
  /**
   * Where the run keeps its checkpoints, checkpointLocation(run): the one answer to "volume or
   * bucket" the pass branches on. Undefined for a spec too broken to name one.
   */
  location: RunLocation | undefined;
  /** The checkpoint PVC of a run on a volume (location.claimName), if it exists. */
  pvc?: V1PersistentVolumeClaim;
  /**
   * Every node in the cache, by name. A pod's node missing here counts as deleted (after
   * settings.stuckPodTimeoutSeconds): pass it only once the node cache has synced. An
   * empty map is taken for a broken cache and no node is considered lost.
   */
  nodes: ReadonlyMap<string, V1Node>;
  /**
   * Other TrainingRuns of the namespace whose checkpoint location may overlap this run's
   * (every one that does; the runtime reads them from its cache's location index, and
   * reconcile picks those that truly overlap): who holds a shared location is decided from
   * them (storage-claims.ts). Unset: none.
   */
  otherRuns?: readonly TrainingRun[];
  /**
   * Trainer pods of other runs (or of runs already deleted) whose checkpoint location may
   * overlap this run's, any phase, from the same index: no attempt starts while one that
   * overlaps is alive. Unset: none.
   */
  otherPods?: readonly V1Pod[];
  /**
   * The cached trainer pods (of any run) bound to a node: what a spot node's room is judged
   * by before a return to spot. A lookup in the same cache as `pods`, which cannot change
   * during the synchronous pass. Unset: no pods known on any node.
   */
  podsOnNode?: (node: string) => readonly V1Pod[];
  /**
   * The Kueue Workloads of the run's attempts' pod groups (model/kueue.ts), for a run in a
   * queue on a cluster where the operator watches them (--kueue). Unset: none known; the
   * pods' gates and Kueue's mark on them still say queued and preempted.
   */
  workloads?: readonly QueueWorkload[];
  /** The kubelet's FailedMount events about the run's pods: how a missing Secret or ConfigMap volume shows. */
  mountFailures?: readonly CoreV1Event[];
  now: Date;
  /**
   * Set by the runtime for the pass right after the apiserver refused this generation's pod
   * as invalid (422 with field causes): the run's own fields can never make a valid pod.
   */
  podRejection?: PodRejection;
  /**
   * Set by the runtime for the pass right after the apiserver refused the pod for a reason
   * that may pass (quota, admission, RBAC): the refusal is retried with backoff, and this
   * pass only says in status why the run waits.
   */
  podRefusal?: PodRefusal;
}

/** A refused pod create that is retried: the event reason it was told under, and the apiserver's message. */
export interface PodRefusal {
  reason: string;
  message: string;
}

/** The apiserver's Status for a pod it refused as invalid: its message and causes. */
export interface PodRejection {
  message: string;
  causes: readonly { field: string; message: string }[];
}

export type Action =
  | { kind: "createPod"; pod: V1Pod }
  /**
   * Delete with a uid precondition, so a pod that was replaced meanwhile is left alone.
   * gracePeriodSeconds unset: the pod's own; 0 only for a pod stuck on a lost node.
   */
  | { kind: "deletePod"; name: string; uid?: string; gracePeriodSeconds?: number; reason: string }
  | { kind: "createPVC"; pvc: V1PersistentVolumeClaim }
  /** A gang's headless Service (AlreadyExists is success); a bonus for clusters with DNS. */
  | { kind: "createService"; service: V1Service }
  /**
   * Merge-patch one annotation of the pod (with a uid precondition): the checkpoint request,
   * a gang's peers. Best effort: a failed patch is asked again on the next pass. `purpose`
   * says what for, in the log and a refusal's event.
   */
  | { kind: "annotatePod"; name: string; uid: string; annotation: string; value: string; purpose: string }
  /** The same for the run's checkpoint claim: an update that makes the scheduler look again (reconcile/claim-nudge.ts). */
  | { kind: "annotateClaim"; name: string; uid: string; annotation: string; value: string; purpose: string };

export interface EventSpec {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/**
 * What a pass decided. The runtime applies `actions` in order (AlreadyExists and NotFound
 * are success), then writes `status` through the status subresource if it differs from
 * run.status, then emits `events` (only after the status write, so a retried pass does
 * not repeat them). requeueAfterMs: run again after this long even without a watch event.
 */
export interface Decision {
  actions: Action[];
  status: TrainingRunStatus;
  events: EventSpec[];
  requeueAfterMs?: number;
}

/** The shape of reconcile() in decide.ts: no I/O, no clock reads, no randomness. */
export type Reconcile = (observed: Observed, settings: OperatorSettings) => Decision;
