// What one reconcile pass reads (Observed), what it returns (Decision), the operator-wide
// settings it is given, and the Draft it builds its decision in. Read this file first;
// then observe.ts, assess.ts, decide.ts and render.ts, in that order.
import type { CoreV1Event, V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../api/trainingrun.js";
import type { Condition, TrainingRunStatus } from "../api/status.js";
import type { PriceTable } from "./accounting.js";
import { DEFAULT_NOTICE_SIGNALS, type NoticeSignal } from "./notice.js";

// ---- What a pass reads and returns ----

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
  /** Merge-patch the pod's checkpoint-request annotation (with a uid precondition). */
  | { kind: "requestCheckpoint"; name: string; uid: string; annotation: string; value: string };

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

// ---- Settings ----

/** Operator-wide knobs the reconcile function needs (flags/env in the CLI). */
export interface OperatorSettings {
  /** ServiceAccount for trainer pods; it needs `patch` on its own pod for progress reports. Unset: the namespace default. */
  trainerServiceAccountName?: string;
  /** How long a pod may sit Running/Terminating on a NotReady or deleted node before it is force-deleted. */
  stuckPodTimeoutSeconds: number;
  /** How many attempts status.attempts keeps; at least 2, as lostSteps compares an attempt with the one before. */
  attemptHistoryLimit: number;
  /**
   * How long a trainer may run without a progress report before ProgressReported=False says
   * so. Several report intervals (the trainer's default is 5 s), plus the time to load data.
   */
  progressReportTimeoutSeconds: number;
  /**
   * While only a run's progress changes (step, loss, the attempt's reached step), its status
   * is written at most once per this many seconds, with the newest report (progress-writes.ts);
   * any other change is written at once. 0: every report is written.
   */
  progressWriteIntervalSeconds: number;
  /**
   * Registries, repository prefixes or pinned images spec.image must fall under (api/image.ts:
   * whole path segments, e.g. "registry.example.com/ml"); empty: any image.
   */
  allowedImages: readonly string[];
  /**
   * true: spec.securityContext may go below the restricted Pod Security Standard (uid 0,
   * capabilities, privilege escalation, Unconfined seccomp); false: such a run is
   * Valid=False SecurityContextNotAllowed, so creating TrainingRuns never gives more than
   * creating restricted pods would.
   */
  allowRelaxedSecurityContext: boolean;
  /** The price table of cost accounting (status.accounting); unset: GPU-seconds only, no cost. */
  prices?: PriceTable;
  /** What counts as a reclaim notice on a trainer's node (notice.ts, docs/reclaim-notices.md). */
  noticeSignals: readonly NoticeSignal[];
}

export const DEFAULT_SETTINGS: OperatorSettings = {
  stuckPodTimeoutSeconds: 30,
  attemptHistoryLimit: 10,
  progressReportTimeoutSeconds: 120,
  // Three reports of the reference trainer (every 5 s) per write; kubectl and a 30 s scrape
  // still see a step at most 15 s old.
  progressWriteIntervalSeconds: 15,
  allowedImages: [],
  allowRelaxedSecurityContext: false,
  noticeSignals: DEFAULT_NOTICE_SIGNALS,
};

// ---- Timestamps ----

/**
 * Kubernetes timestamps arrive as Date objects from list calls (ObjectSerializer) and as
 * RFC 3339 strings from watch events (plain JSON.parse); read them only through this.
 */
export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** An API timestamp younger than this (whole seconds plus watch latency) is "just now". */
const FRESH_MS = 2_000;

/**
 * When something the API stamped `at` (in whole seconds, truncated) happened: by our own
 * clock if we see it as it happens — off by watch latency, not by up to a second — else `at`.
 */
export function seenAt(at: number, now: Date): number {
  return now.getTime() - at < FRESH_MS ? now.getTime() : at;
}

/** Status timestamps are written as RFC 3339 strings, whatever the input was. */
export function toTimestamp(value: Date): string {
  return value.toISOString();
}

// ---- Conditions ----

export type ConditionUpdate = Pick<Condition, "type" | "status" | "reason" | "message">;

/**
 * metav1.Condition semantics: lastTransitionTime moves only when status flips; reason,
 * message and observedGeneration always follow the latest pass. Returns a new array.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
  observedGeneration?: number,
): Condition[] {
  const existing = conditions?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : toTimestamp(now),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  const others = (conditions ?? []).filter((c) => c.type !== update.type);
  return [...others, next].sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

// ---- The decision under construction ----

/** The decision one pass is building: a private copy of the status plus what to do and say. */
export class Draft {
  readonly status: TrainingRunStatus;
  readonly actions: Action[] = [];
  private readonly events: EventSpec[] = [];
  private requeueAfterMs: number | undefined;

  constructor(
    readonly observed: Observed,
    readonly settings: OperatorSettings,
  ) {
    this.status = structuredClone(observed.run.status ?? {});
  }

  get now(): Date {
    return this.observed.now;
  }

  event(type: EventSpec["type"], reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  /** Run again within `ms` even if nothing changes; the earliest request wins. */
  requeueIn(ms: number): void {
    const bounded = Math.max(0, Math.ceil(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? bounded : Math.min(this.requeueAfterMs, bounded);
  }

  /** Sets a condition; true when its status flipped (the moment to emit an event). */
  condition(update: ConditionUpdate): boolean {
    const before = findCondition(this.status.conditions, update.type)?.status;
    this.status.conditions = setCondition(
      this.status.conditions,
      update,
      this.now,
      this.observed.run.metadata.generation,
    );
    return before !== update.status;
  }

  decision(): Decision {
    return {
      actions: this.actions,
      status: this.status,
      events: this.events,
      ...(this.requeueAfterMs === undefined ? {} : { requeueAfterMs: this.requeueAfterMs }),
    };
  }
}
