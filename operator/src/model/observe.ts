// What is read about a run from the cached objects and its status, by the pass, the metrics
// and the CLI alike: its pods classified by attempt, an attempt's record, the names of what
// the operator creates, and the trainer's own reports (progress annotation, exit summary)
// parsed through the protocol package. Nothing here decides anything.
import type { V1ContainerStatus, V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import {
  PROGRESS_ANNOTATION,
  failureMessage,
  parseExitSummary,
  parseProgress,
  resumedFrom,
  locationName,
  type BucketLocation,
  type CheckpointFailure,
  type ParsedExitSummary,
  type VolumeLocation,
} from "@resumable/protocol";
import { DEFAULT_MOUNT_PATH } from "../api/checkpoint-spec.js";
import type { S3StorageSpec } from "../api/spec.js";
import type { AttemptRecord, CheckpointInfo, TrainerSummary, TrainingRunStatus } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";

// ---- The run's pods ----

/**
 * Deterministic names: a stale cache can never make the operator create a second copy.
 * `<run>-<attempt>` for a single pod, `<run>-<attempt>-<rank>` for each rank of a gang.
 */
export function podName(runName: string, attempt: number, rank?: number): string {
  return rank === undefined ? `${runName}-${attempt}` : `${runName}-${attempt}-${rank}`;
}

/** Where a pod of the run sits: its attempt, and its rank if it is a gang's. */
export interface PodPlace {
  attempt: number;
  rank?: number;
}

/**
 * The attempt (and rank) a pod of the run belongs to, read back from its name (podName's
 * inverse): the one rule by which reconcile and the metrics find an attempt's pods. A name
 * cannot be edited after creation, unlike a label.
 */
export function placeOfPod(pod: V1Pod, runName: string): PodPlace | undefined {
  const name = pod.metadata?.name;
  const prefix = `${runName}-`;
  if (name === undefined || !name.startsWith(prefix)) return undefined;
  const match = /^([1-9][0-9]*)(?:-(0|[1-9][0-9]*))?$/.exec(name.slice(prefix.length));
  if (match === null) return undefined;
  return match[2] === undefined ? { attempt: Number(match[1]) } : { attempt: Number(match[1]), rank: Number(match[2]) };
}

export function attemptOfPod(pod: V1Pod, runName: string): number | undefined {
  return placeOfPod(pod, runName)?.attempt;
}

/** The pod of one attempt among the run's pods, e.g. the newest (status.attempt); a gang's rank 0. */
export function podOfAttempt(pods: readonly V1Pod[], runName: string, attempt: number): V1Pod | undefined {
  return pods.find((pod) => {
    const place = placeOfPod(pod, runName);
    return place?.attempt === attempt && (place.rank ?? 0) === 0;
  });
}

/** The PVC a run keeps its checkpoints on: the user's claimName, else the one the operator creates. */
export function checkpointClaimName(run: TrainingRun): string {
  return run.spec.checkpoint?.claimName ?? `${run.metadata.name ?? ""}-checkpoints`;
}

/** Where the trainer reads spec.checkpoint.storage.s3.credentialsSecret (RESUMABLE_S3_CREDENTIALS_DIR). */
export const S3_CREDENTIALS_DIR = "/etc/resumable/s3-credentials";

type CredentialsSecret = NonNullable<S3StorageSpec["credentialsSecret"]>;

/**
 * Where a run keeps its checkpoints: the protocol's location (what its trainer is told), with
 * what the operator mounts for it, the PVC or the bucket's credentials secret.
 */
export type RunLocation = (VolumeLocation & { claimName: string }) | (BucketLocation & { credentialsSecret: CredentialsSecret | undefined });

/**
 * The location spec.checkpoint names, worked out once per pass into Observed.location, and by
 * the cache and the CLI from the run as stored. A bucket's prefix loses its trailing "/" (it
 * means nothing to the trainer). Undefined for a run too broken to name one (it gets no pod).
 */
export function checkpointLocation(run: TrainingRun): RunLocation | undefined {
  const checkpoint = run.spec?.checkpoint;
  const s3 = checkpoint?.storage?.s3;
  if (s3 === undefined) {
    if (run.metadata.name === undefined) return undefined;
    return { kind: "volume", directory: checkpoint?.mountPath ?? DEFAULT_MOUNT_PATH, claimName: checkpointClaimName(run) };
  }
  if (typeof s3.bucket !== "string" || typeof s3.prefix !== "string") return undefined;
  return {
    kind: "bucket",
    bucket: s3.bucket,
    prefix: s3.prefix.replace(/\/+$/, ""),
    endpoint: s3.endpoint,
    region: s3.region,
    credentialsDir: s3.credentialsSecret === undefined ? undefined : S3_CREDENTIALS_DIR,
    credentialsSecret: s3.credentialsSecret,
  };
}

/**
 * Where a run keeps its checkpoints, as status.checkpointStorage, `kubectl get tr` and the CLI
 * show it: s3://bucket/prefix for spec.checkpoint.storage.s3, else pvc/<claim>.
 */
export function checkpointStorage(run: TrainingRun): string {
  const location = checkpointLocation(run);
  return location === undefined ? "" : locationName(location);
}

/** The run's pods, classified by what the decision needs from them. */
export interface ObservedPods {
  /** Trainer pods this run owns, by attempt number (a gang's: its rank 0, else any of its ranks). */
  byAttempt: ReadonlyMap<number, V1Pod>;
  /** A gang's pods by attempt, then by rank (spec.workers > 1). */
  ranks: ReadonlyMap<number, ReadonlyMap<number, V1Pod>>;
  /** Every pod this run owns, by attempt number: a single pod or a gang's ranks. */
  all: ReadonlyMap<number, readonly V1Pod[]>;
  /** The highest attempt number among them; 0 when there are none. */
  newestAttempt: number;
  /**
   * Pods not yet Succeeded/Failed, owned or not (a previous run of the same name may
   * still be stopping): while any exists no new attempt starts, so at most one trainer
   * writes the checkpoints.
   */
  alive: readonly V1Pod[];
}

export function classifyPods(pods: readonly V1Pod[], run: TrainingRun): ObservedPods {
  const byAttempt = new Map<number, V1Pod>();
  const ranks = new Map<number, Map<number, V1Pod>>();
  const all = new Map<number, V1Pod[]>();
  for (const pod of pods) {
    const place = placeOfPod(pod, run.metadata.name ?? "");
    if (place === undefined || !isOwnedBy(pod, run)) continue;
    all.set(place.attempt, [...(all.get(place.attempt) ?? []), pod]);
    if (place.rank === undefined) {
      byAttempt.set(place.attempt, pod);
      continue;
    }
    const gang = ranks.get(place.attempt) ?? new Map<number, V1Pod>();
    ranks.set(place.attempt, gang.set(place.rank, pod));
    // A gang's pod in the attempt's place: rank 0 where it exists.
    if (place.rank === 0 || !byAttempt.has(place.attempt)) byAttempt.set(place.attempt, pod);
  }
  return {
    byAttempt,
    ranks,
    all,
    newestAttempt: Math.max(0, ...byAttempt.keys()),
    alive: pods.filter(isAlive),
  };
}

export function isAlive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

/** Deletion requested, object still there (pods and PVCs alike). */
export function isTerminating(object: { metadata?: V1ObjectMeta }): boolean {
  return object.metadata?.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

/** False for a pod left over from an earlier run of the same name (deleted and recreated). */
function isOwnedBy(pod: V1Pod, run: TrainingRun): boolean {
  return pod.metadata?.ownerReferences?.some((r) => r.controller === true && r.uid === run.metadata.uid) ?? false;
}

/**
 * status.attempts is the operator's memory of every attempt it started: the record is
 * written before (or with) the pod, and an attempt's outcome is counted only when its
 * record gains an endTime, so seeing the same pod again never counts it twice.
 */
export function findRecord(status: TrainingRunStatus, attempt: number): AttemptRecord | undefined {
  return status.attempts?.find((r) => r.attempt === attempt);
}

// ---- The trainer's reports ----

/** The trainer container's name in every trainer pod. */
export const TRAINER_CONTAINER = "trainer";

/** A progress report in the operator's terms: undefined where the trainer wrote null ("none yet"). */
export interface ProgressReport {
  step: number;
  totalSteps?: number | undefined;
  epoch?: number | undefined;
  loss?: number | undefined;
  /** 0 for a fresh start; undefined when the trainer does not say. */
  resumedFromStep?: number | undefined;
  checkpoint?: CheckpointInfo | undefined;
  /** null: the last save succeeded; undefined: the trainer does not say. */
  checkpointFailure?: CheckpointFailure | null | undefined;
  updatedAt?: string | undefined;
  /** The step saved on the newest checkpoint request (a reclaim notice), if any. */
  earlyCheckpointStep?: number | undefined;
  /** The id of the request that early checkpoint answered. */
  earlyCheckpointRequestId?: string | undefined;
  /** What a final flush at SIGTERM is measured to take, in seconds; undefined: not said yet. */
  flushSeconds?: number | undefined;
}

/** The trainer's latest progress report, or undefined when absent or malformed (never trusted blindly). */
export function readProgress(pod: V1Pod): ProgressReport | undefined {
  const p = parseProgress(pod.metadata?.annotations?.[PROGRESS_ANNOTATION]);
  if (p === undefined) return undefined;
  return {
    step: p.step,
    totalSteps: p.totalSteps ?? undefined,
    epoch: p.epoch ?? undefined,
    loss: p.loss ?? undefined,
    resumedFromStep: resumedFrom(p),
    checkpoint: p.checkpoint ?? undefined,
    checkpointFailure: p.checkpointFailure,
    updatedAt: p.updatedAt ?? undefined,
    earlyCheckpointStep: p.earlyCheckpoint?.step,
    earlyCheckpointRequestId: p.earlyCheckpoint?.requestId,
    flushSeconds: p.flushSeconds ?? undefined,
  };
}

export function trainerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER);
}

/** The summary the trainer left in its termination message (or as the last line of its log tail). */
export const readSummary = parseExitSummary;

/** How much of a termination message without a summary is quoted in conditions and events. */
const QUOTED_CHARS = 500;

/**
 * What the trainer said about its failure: its summary's failure message, or from a trainer
 * that wrote no summary the end of its termination message (its own text, or its log tail).
 */
export function trainerMessage(summary: ParsedExitSummary | undefined, terminationMessage: string | undefined): string | undefined {
  if (summary !== undefined) return failureMessage(summary);
  const text = terminationMessage?.trim();
  if (!text) return undefined;
  return text.length > QUOTED_CHARS ? `…${text.slice(-QUOTED_CHARS)}` : text;
}

/** The summary as status.result keeps it: null says nothing, so it is left out. */
export function summaryForStatus(summary: ParsedExitSummary): TrainerSummary {
  return JSON.parse(JSON.stringify(summary), (_key, value: unknown) => (value === null ? undefined : value)) as TrainerSummary;
}
