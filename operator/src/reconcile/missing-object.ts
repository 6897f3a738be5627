// A trainer pod that cannot start because a Secret or ConfigMap it reads does not exist: the
// kubelet says so on the pod (an env source: CreateContainerConfigError) or in FailedMount
// events (a volume: the pod stays ContainerCreating). The operator has no RBAC on Secrets, so
// this is the only way it learns of it, and it cannot watch for the object to appear.
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord } from "../api/status.js";
import { endAttempt } from "./attempt-end.js";
import { trainerStatus } from "../model/observe.js";
import { findCondition } from "../model/conditions.js";
import { toDate } from "../model/time.js";
import type { Draft } from "./draft.js";

export interface MissingObject {
  kind: "Secret" | "ConfigMap";
  name: string;
  /** The kubelet's words, e.g. `MountVolume.SetUp failed for volume "s3-credentials" : secret "x" not found`. */
  said: string;
}

/** The kubelet's NotFound wording (its secret and configmap managers' group resource): `secret "x" not found`. */
const NOT_FOUND = /\b(secret|configmap)s? "([^"]+)" not found/i;

function parse(text: string | undefined): MissingObject | undefined {
  const m = text === undefined ? null : NOT_FOUND.exec(text);
  if (m === null || text === undefined) return undefined;
  return { kind: m[1]?.toLowerCase() === "secret" ? "Secret" : "ConfigMap", name: m[2] ?? "", said: text };
}

/** The Secret or ConfigMap that keeps `pod` from starting, if the kubelet said so. */
export function missingObject(pod: V1Pod, mountFailures: readonly CoreV1Event[]): MissingObject | undefined {
  const waiting = trainerStatus(pod)?.state?.waiting;
  if (waiting?.reason === "CreateContainerConfigError") return parse(waiting.message);
  // A volume is set up before any container: only a pod whose trainer has not started waits on one.
  if (pod.status?.phase !== "Pending" || trainerStatus(pod)?.state?.running !== undefined) return undefined;
  const uid = pod.metadata?.uid;
  const newest = mountFailures
    .filter((e) => uid !== undefined && e.involvedObject.uid === uid)
    .sort((a, b) => (eventTime(b) ?? 0) - (eventTime(a) ?? 0))[0];
  return parse(newest?.message);
}

function eventTime(e: CoreV1Event): number | undefined {
  return (toDate(e.lastTimestamp) ?? toDate(e.eventTime as Date | string | undefined) ?? toDate(e.firstTimestamp))?.getTime();
}

const OBJECTS_FOUND = "ObjectsFound";

/**
 * How long a pod may wait for a missing object before it is deleted so it stops holding its
 * node (and GPU): long enough for an object applied with the run, in any order, to arrive.
 */
export const MISSING_OBJECT_GRACE_SECONDS = 60;

/** Which spec field names the object, for the message. */
function fieldOf(spec: TrainingRunSpec, missing: MissingObject): string {
  if (missing.kind === "Secret" && spec.checkpoint.storage?.s3?.credentialsSecret?.name === missing.name) return " (spec.checkpoint.storage.s3.credentialsSecret)";
  return "";
}

/**
 * The attempt's pod waits for a missing object: say so at once (ObjectsFound=False), and
 * after MISSING_OBJECT_GRACE_SECONDS since the run first waited end the attempt as Blocked
 * (its pod is deleted by the next pass, as for any ended attempt; the next attempt follows
 * after backoff). A retry that finds the object still missing waits no grace again.
 */
export function waitForObject(d: Draft, record: AttemptRecord, missing: MissingObject, spec: TrainingRunSpec): void {
  const namespace = d.observed.run.metadata.namespace ?? "";
  const what = `${missing.kind} ${namespace}/${missing.name}${fieldOf(spec, missing)}`;
  const message = `${what} does not exist: pod ${record.pod} cannot start (kubelet: ${missing.said})`;
  if (d.condition({ type: OBJECTS_FOUND, status: "False", reason: `${missing.kind}NotFound`, message })) d.event("Warning", `${missing.kind}NotFound`, message);
  const since = toDate(findCondition(d.status.conditions, OBJECTS_FOUND)?.lastTransitionTime) ?? d.now;
  const due = since.getTime() + MISSING_OBJECT_GRACE_SECONDS * 1000;
  if (d.now.getTime() < due) {
    d.requeueIn(due - d.now.getTime());
    return;
  }
  endAttempt(d, record, { reason: "Blocked", detail: `${missing.kind}NotFound`, message: what }, spec);
}

/** A trainer that started found what it needed: ends an ObjectsFound=False streak (a run that never had one gets no condition). */
export function objectsFound(d: Draft, record: AttemptRecord): void {
  if (findCondition(d.status.conditions, OBJECTS_FOUND)?.status !== "False") return;
  d.condition({ type: OBJECTS_FOUND, status: "True", reason: "Found", message: `attempt ${record.attempt}'s trainer started` });
}

/** Why the run waits after a Blocked attempt, for the Running condition. */
export function blockedMessage(d: Draft): string | undefined {
  const c = findCondition(d.status.conditions, OBJECTS_FOUND);
  return c?.status === "False" ? c.message : undefined;
}
