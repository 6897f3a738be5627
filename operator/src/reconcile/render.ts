// The objects a decision creates, built from the run: the trainer pod of an attempt (its
// placement from scheduling.ts), the checkpoint PVC, and the owner reference that lets garbage collection
// delete them with the run (their names come from observe.ts). Pure builders: no status, no decisions.
import type {
  V1Capabilities,
  V1EnvVar,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
} from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, CHECKPOINT_REQUEST_DIR, CHECKPOINT_REQUEST_FILE, CheckpointLocation, ENV } from "@resumable/protocol";
import { API_GROUP_VERSION, ATTEMPT_LABEL, KIND, RANK_LABEL, RUN_LABEL } from "../api/group.js";
import { volumeTemplateSchema } from "../api/checkpoint-spec.js";
import type { CheckpointSpec, SecurityContextSpec, TrainingRunSpec } from "../api/spec.js";
import type { CapacityType } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { queueOf } from "../model/kueue.js";
import { TRAINER_CONTAINER, podName, type RunLocation } from "../model/observe.js";
import { expectedDisruptionsPerHour } from "../model/accounting.js";
import type { OperatorSettings } from "../model/settings.js";
import { buildGangService, gangEnv, gangHostname, PEERS_ITEM, type GangMember } from "./gang-render.js";
import { locationVolumes } from "./location-volumes.js";
import { queueMetadata } from "./queue.js";
import { podScheduling } from "./scheduling.js";

// ---- Ownership ----

/** The controller reference that makes garbage collection delete a child with its run. */
function controllerRef(run: TrainingRun): V1OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: run.metadata.name ?? "",
    uid: run.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

// ---- The trainer pod ----

/** The root filesystem is read-only; tfjs, tsx and Node itself still want a scratch /tmp. */
const TMP_VOLUME = "tmp";
/** The downwardAPI volume that projects the checkpoint-request annotation (docs/trainer-protocol.md). */
const REQUEST_VOLUME = "checkpoint-request";
/** The trainer image's `node` user and group. */
const TRAINER_UID = 1000;

/**
 * The defaults spec.securityContext overrides field by field. A fresh PVC's root belongs to
 * root: with fsGroup the kubelet hands the volume to the trainer's group, so any non-root
 * image can write checkpoints; OnRootMismatch skips the recursive chown of a large
 * checkpoint directory on every later attempt. The rest is the "restricted" Pod Security
 * Standard, so a namespace that enforces it admits trainer pods unchanged.
 */
const SECURITY_DEFAULTS = {
  runAsNonRoot: true,
  runAsUser: TRAINER_UID,
  runAsGroup: TRAINER_UID,
  fsGroup: TRAINER_UID,
  fsGroupChangePolicy: "OnRootMismatch",
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
} as const satisfies SecurityContextSpec;

/**
 * The pod of one attempt: everything the trainer protocol promises, nothing else. On a bucket
 * it mounts no PVC: nothing ties the pod to the zone of a disk, so the scheduler may place the
 * next attempt in any zone.
 */
export function buildTrainerPod(
  run: TrainingRun,
  spec: TrainingRunSpec,
  attempt: number,
  /** Observed.location: the pod mounts its PVC, or for a bucket only the credentials secret. */
  location: RunLocation,
  settings: OperatorSettings,
  /** Where this attempt goes (spec.scheduling.fallback); default: as spec.scheduling.spot says. */
  capacity: CapacityType = spec.scheduling.spot ? "spot" : "on-demand",
  /** A gang's rank (spec.workers > 1); unset for a single pod. */
  gang?: GangMember,
): V1Pod {
  const runName = run.metadata.name ?? "";
  const name = podName(runName, attempt, gang?.rank);
  const security: SecurityContextSpec = { ...SECURITY_DEFAULTS, ...spec.securityContext };
  // Only rank 0 touches checkpoint storage: the others get no claim and no credentials.
  const storesCheckpoints = (gang?.rank ?? 0) === 0;
  const storage = storesCheckpoints ? locationVolumes(location) : { volumes: [], mounts: [] };
  const queue = queueMetadata(run, attempt, spec.workers);
  // In a queue the flavor Kueue assigns decides spot or on-demand node terms (docs/kueue.md,
  // "Flavors vs fallback"): the operator adds none of its own, only the user's.
  const scheduling = queueOf(run) === undefined ? podScheduling(spec.scheduling, capacity) : podScheduling({ ...spec.scheduling, spot: false }, "on-demand");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: run.metadata.namespace,
      labels: { [RUN_LABEL]: runName, [ATTEMPT_LABEL]: String(attempt), ...(gang ? { [RANK_LABEL]: String(gang.rank) } : {}), ...queue.labels },
      ...(Object.keys(queue.annotations).length > 0 ? { annotations: queue.annotations } : {}),
      ownerReferences: [controllerRef(run)],
    },
    spec: {
      ...(gang ? gangHostname(run, name) : {}),
      // The operator, not the kubelet, decides about the next attempt.
      restartPolicy: "Never",
      terminationGracePeriodSeconds: spec.preemption.gracePeriodSeconds,
      serviceAccountName: settings.trainerServiceAccountName,
      securityContext: podSecurityContext(security),
      ...scheduling,
      volumes: [
        ...storage.volumes,
        { name: TMP_VOLUME, emptyDir: {} },
        // The checkpoint request (a reclaim notice) reaches the trainer as a file: no RBAC, no port.
        {
          name: REQUEST_VOLUME,
          downwardAPI: {
            items: [
              { path: CHECKPOINT_REQUEST_FILE.slice(CHECKPOINT_REQUEST_DIR.length + 1), fieldRef: { fieldPath: `metadata.annotations['${CHECKPOINT_REQUEST_ANNOTATION}']` } },
              ...(gang ? [PEERS_ITEM] : []),
            ],
          },
        },
      ],
      containers: [
        {
          name: TRAINER_CONTAINER,
          image: spec.image,
          imagePullPolicy: spec.imagePullPolicy,
          command: spec.command,
          args: spec.args,
          env: [
            ...protocolEnv(run, attempt, spec, storesCheckpoints ? location : undefined),
            ...disruptionEnv(run, spec, capacity, settings),
            ...(gang ? gangEnv(run, attempt, gang) : []),
            ...((spec.env ?? []) as V1EnvVar[]),
          ],
          resources: podResources(spec.resources),
          volumeMounts: [
            ...storage.mounts,
            { name: TMP_VOLUME, mountPath: "/tmp" },
            { name: REQUEST_VOLUME, mountPath: CHECKPOINT_REQUEST_DIR, readOnly: true },
          ],
          securityContext: containerSecurityContext(security),
          terminationMessagePath: "/dev/termination-log",
          // A trainer that dies without writing its summary still leaves its last log lines.
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
    },
  };
}

/**
 * docs/trainer-protocol.md; OPERATOR_ENV_NAMES (OPERATOR_S3_ENV_NAMES in place of the
 * directory for a bucket: the protocol's encoding of the location), then what the spec asks
 * for; spec.env may set none of them.
 */
function protocolEnv(run: TrainingRun, attempt: number, spec: TrainingRunSpec, location: RunLocation | undefined): V1EnvVar[] {
  const field = (fieldPath: string) => ({ fieldRef: { fieldPath } });
  return [
    // A gang's rank > 0 is told no location: it never touches checkpoint storage.
    ...Object.entries(location === undefined ? {} : CheckpointLocation.toEnv(location)).map(([name, value]) => ({ name, value })),
    { name: ENV.config, value: JSON.stringify(spec.training) },
    { name: ENV.run, value: run.metadata.name ?? "" },
    // With the namespace, the owner the trainer records in (and checks against) its checkpoint location.
    { name: ENV.runUid, value: run.metadata.uid ?? "" },
    { name: ENV.attempt, value: String(attempt) },
    { name: ENV.podName, valueFrom: field("metadata.name") },
    { name: ENV.podNamespace, valueFrom: field("metadata.namespace") },
    { name: ENV.podIp, valueFrom: field("status.podIP") },
    ...(spec.checkpoint.allowFreshStart ? [{ name: ENV.allowFreshStart, value: "true" }] : []),
  ];
}

/**
 * For a trainer that checkpoints as often as it pays (the reference trainer's
 * `checkpoint.everySteps: auto`): the hard losses per hour to expect on this attempt's capacity.
 * Only then, so a run that does not use it keeps exactly the pod it had.
 */
function disruptionEnv(run: TrainingRun, spec: TrainingRunSpec, capacity: CapacityType, settings: OperatorSettings): V1EnvVar[] {
  const checkpoint = (spec.training as { checkpoint?: { everySteps?: unknown } }).checkpoint;
  if (checkpoint?.everySteps !== "auto") return [];
  const rate = expectedDisruptionsPerHour(run.status?.accounting, capacity, settings.spotDisruptionsPerHour);
  return [{ name: ENV.disruptionsPerHour, value: String(Number(rate.toPrecision(3))) }];
}

/**
 * Every pod of an attempt: the single pod, or a gang's ranks, alike in everything (image,
 * config, resources, tolerations, the node terms of one capacity type: a gang never
 * straddles spot and on-demand) but their rank and rank 0's storage.
 */
export function buildAttemptPods(
  run: TrainingRun,
  spec: TrainingRunSpec,
  attempt: number,
  location: RunLocation,
  settings: OperatorSettings,
  capacity: CapacityType | undefined,
): V1Pod[] {
  if (spec.workers === 1) return [buildTrainerPod(run, spec, attempt, location, settings, capacity)];
  return Array.from({ length: spec.workers }, (_, rank) => buildTrainerPod(run, spec, attempt, location, settings, capacity, { rank, workers: spec.workers }));
}

/** The run's headless Service, owned by the run (garbage-collected with it). */
export function buildRunService(run: TrainingRun) {
  return buildGangService(run, controllerRef(run));
}

function podResources(resources: TrainingRunSpec["resources"]): V1ResourceRequirements | undefined {
  if (resources === undefined) return undefined;
  const asStrings = (list: Record<string, number | string> | undefined) =>
    list && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(v)]));
  return { limits: asStrings(resources.limits), requests: asStrings(resources.requests) };
}

function podSecurityContext(c: SecurityContextSpec): V1PodSecurityContext {
  return {
    fsGroup: c.fsGroup,
    fsGroupChangePolicy: c.fsGroupChangePolicy,
    ...(c.supplementalGroups ? { supplementalGroups: c.supplementalGroups } : {}),
  };
}

function containerSecurityContext(c: SecurityContextSpec): V1SecurityContext {
  return {
    runAsNonRoot: c.runAsNonRoot,
    runAsUser: c.runAsUser,
    runAsGroup: c.runAsGroup,
    readOnlyRootFilesystem: c.readOnlyRootFilesystem,
    allowPrivilegeEscalation: c.allowPrivilegeEscalation,
    capabilities: c.capabilities as V1Capabilities | undefined,
    seccompProfile: c.seccompProfile,
  };
}

// ---- The checkpoint PVC ----

/**
 * The checkpoint PVC the operator creates when spec.checkpoint.claimName is unset.
 * retainOnDelete (the default) leaves it without an owner, so deleting the run keeps the
 * checkpoints; otherwise garbage collection deletes it with the run.
 */
export function buildCheckpointPvc(run: TrainingRun, checkpoint: CheckpointSpec, claimName: string): V1PersistentVolumeClaim {
  const volume = checkpoint.volume ?? volumeTemplateSchema.parse({});
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: claimName,
      namespace: run.metadata.namespace,
      labels: { [RUN_LABEL]: run.metadata.name ?? "" },
      ...(checkpoint.retainOnDelete ? {} : { ownerReferences: [controllerRef(run)] }),
    },
    spec: {
      accessModes: volume.accessModes,
      storageClassName: volume.storageClassName,
      resources: { requests: { storage: String(volume.size) } },
    },
  };
}
