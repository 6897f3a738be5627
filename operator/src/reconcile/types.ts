import type { V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../api/trainingrun.js";
import type { TrainingRunStatus } from "../api/status.js";
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
  /** The checkpoint PVC named checkpointClaimName(run), if it exists. */
  pvc?: V1PersistentVolumeClaim;
  /**
   * Every node in the cache, by name. A pod's node missing here counts as deleted (after
   * settings.stuckPodTimeoutSeconds): pass it only once the node cache has synced. An
   * empty map is taken for a broken cache and no node is considered lost.
   */
  nodes: ReadonlyMap<string, V1Node>;
  now: Date;
  /**
   * Set by the runtime for the pass right after the apiserver refused this generation's pod
   * as invalid (422 with field causes): the run's own fields can never make a valid pod.
   */
  podRejection?: PodRejection;
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
  | { kind: "createPVC"; pvc: V1PersistentVolumeClaim };

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

/** The shape of reconcile() in reconcile.ts: no I/O, no clock reads, no randomness. */
export type Reconcile = (observed: Observed, settings: OperatorSettings) => Decision;
