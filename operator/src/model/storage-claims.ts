// Which run may use a checkpoint location that several runs of a namespace name: one PVC, or
// overlapping prefixes of one bucket. Two trainers writing one location would read each
// other's checkpoints as their own and delete them in retention, so only one run holds it
// and the others wait, Valid=False StorageInUse. Pure: the runs come from the caller.
import type { V1Pod } from "@kubernetes/client-node";
import { CheckpointLocation, CheckpointLocationError, type BucketLocation } from "@resumable/protocol";
import { RUN_LABEL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { checkpointLocation, isAlive, TRAINER_CONTAINER, type RunLocation } from "./observe.js";
import { findCondition } from "./conditions.js";
import { toDate } from "./time.js";

/** The Valid condition's reason for a run that waits for another to release its location. */
export const STORAGE_IN_USE = "StorageInUse";

/**
 * A checkpoint location as path segments: ["pvc", claim] or ["s3", bucket, ...prefix].
 * Empty prefix segments ("a//b") are dropped: reading "a//b" and "a/b" as one place can
 * only make the operator too careful. The endpoint is left out on purpose: one bucket name
 * behind two spellings of one endpoint is still one bucket.
 */
function segments(location: RunLocation): string[] {
  if (location.kind === "volume") return ["pvc", location.claimName];
  return ["s3", location.bucket, ...location.prefix.split("/").filter((part) => part !== "")];
}

/** A run's checkpoint location as segments; undefined for a run too broken to name one (it gets no pod anyway). */
export function storageLocation(run: TrainingRun): string[] | undefined {
  const location = checkpointLocation(run);
  return location === undefined ? undefined : segments(location);
}

/**
 * Where a trainer pod writes, read from the pod itself (the protocol's variables it was given,
 * and its PVC volume): a pod outlives its run while it stops (a run deleted with background
 * propagation is gone before its pods are). A pod whose variables name no bucket the trainer
 * would take writes to its PVC, if any.
 */
export function podLocation(pod: V1Pod): string[] | undefined {
  const env: Record<string, string | undefined> = {};
  // The first value of a name: the operator's variables come first, and spec.env may not repeat them.
  for (const e of pod.spec?.containers.find((c) => c.name === TRAINER_CONTAINER)?.env ?? []) env[e.name] ??= e.value;
  const bucket = bucketOf(env);
  if (bucket !== undefined) return segments({ ...bucket, credentialsSecret: undefined });
  const claim = pod.spec?.volumes?.find((v) => v.persistentVolumeClaim !== undefined)?.persistentVolumeClaim?.claimName;
  return claim === undefined ? undefined : ["pvc", claim];
}

function bucketOf(env: Record<string, string | undefined>): BucketLocation | undefined {
  try {
    const location = CheckpointLocation.fromEnv(env);
    return location.kind === "bucket" ? location : undefined;
  } catch (err) {
    if (err instanceof CheckpointLocationError) return undefined;
    throw err;
  }
}

/**
 * True when two locations are one (the same PVC) or one bucket prefix contains the other
 * (`runs/a` contains `runs/a/b`, not `runs/ab`): the outer run's listing and retention
 * would see the inner run's checkpoints.
 */
export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  if (a[0] !== b[0]) return false;
  if (a[0] === "pvc") return a[1] === b[1];
  const shorter = Math.min(a.length, b.length);
  return a.slice(0, shorter).every((segment, i) => segment === b[i]);
}

/**
 * The keys a cache indexes a run under, so that the runs overlapping a location are found
 * by lookups instead of a scan: `at:<location>` for the location itself and
 * `under:<ancestor>` for each bucket prefix that contains it.
 */
export function locationIndexKeys(location: readonly string[] | undefined): string[] {
  if (location === undefined) return [];
  return [`at:${location.join("/")}`, ...ancestors(location).map((a) => `under:${a.join("/")}`)];
}

/** The lookups (index keys) that find every run overlapping `location`: same, inside, containing. */
export function overlapLookups(location: readonly string[]): string[] {
  const key = location.join("/");
  return [`at:${key}`, `under:${key}`, ...ancestors(location).map((a) => `at:${a.join("/")}`)];
}

/** Bucket prefixes strictly containing the location, down from the bucket itself. */
function ancestors(location: readonly string[]): string[][] {
  if (location[0] !== "s3") return [];
  return Array.from({ length: Math.max(0, location.length - 2) }, (_, i) => location.slice(0, i + 2));
}

/**
 * True while `other` holds its location against runs it precedes: it has not finished
 * (Succeeded or Failed: its trainer is gone, and a new run may continue from its
 * checkpoints on purpose), and it is not kept from starting for a reason of its own
 * (an invalid or refused spec, judged at its current generation) without ever having started. A run waiting because of
 * StorageInUse still holds against the runs after it, so the order alone decides.
 */
export function holdsLocation(other: TrainingRun): boolean {
  const phase = other.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const valid = findCondition(other.status?.conditions, "Valid");
  // Only a verdict on its current spec: a fixed spec not yet decided on may start any moment.
  const current = valid?.observedGeneration === other.metadata.generation;
  const refused = valid?.status === "False" && valid.reason !== STORAGE_IN_USE && current;
  return !refused || hasStarted(other);
}

/**
 * The order in which runs get a location: a run that has started an attempt keeps it
 * against one that has not; then the older (creationTimestamp), then the name. A total
 * order both runs compute alike, so of two runs applied together exactly one waits.
 */
export function precedes(a: TrainingRun, b: TrainingRun): boolean {
  const started = Number(hasStarted(b)) - Number(hasStarted(a));
  if (started !== 0) return started < 0;
  const ageA = toDate(a.metadata.creationTimestamp)?.getTime() ?? Number.MAX_SAFE_INTEGER;
  const ageB = toDate(b.metadata.creationTimestamp)?.getTime() ?? Number.MAX_SAFE_INTEGER;
  if (ageA !== ageB) return ageA < ageB;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "");
}

function hasStarted(run: TrainingRun): boolean {
  return (run.status?.attempt ?? 0) > 0;
}

/** The first run (in `precedes` order) that keeps `run` from its location, if any. */
export function locationHolder(run: TrainingRun, runLocation: RunLocation, others: readonly TrainingRun[]): TrainingRun | undefined {
  const location = segments(runLocation);
  const holders = others.filter((other) => {
    if (other.metadata.namespace !== run.metadata.namespace || other.metadata.name === run.metadata.name) return false;
    const at = storageLocation(other);
    return at !== undefined && overlaps(location, at) && holdsLocation(other) && precedes(other, run);
  });
  return holders.sort((a, b) => (precedes(a, b) ? -1 : 1))[0];
}

/**
 * A pod of another run, not yet ended, that writes where `run` would: while one is alive no
 * attempt of `run` starts, whoever holds the location now (the pod's run may be gone).
 */
export function foreignTrainer(run: TrainingRun, runLocation: RunLocation, pods: readonly V1Pod[]): V1Pod | undefined {
  const location = segments(runLocation);
  return pods.find((pod) => {
    if (pod.metadata?.namespace !== run.metadata.namespace || pod.metadata?.labels?.[RUN_LABEL] === run.metadata.name || !isAlive(pod)) return false;
    const at = podLocation(pod);
    return at !== undefined && overlaps(location, at);
  });
}
