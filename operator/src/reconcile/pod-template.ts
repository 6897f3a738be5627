import type { V1EnvVar, V1Pod, V1ResourceRequirements } from "@kubernetes/client-node";
import { ENV } from "@resumable/protocol";
import { ATTEMPT_LABEL, RUN_LABEL } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { podName } from "./names.js";
import { controllerRef } from "./owner.js";
import { podScheduling } from "./scheduling.js";
import type { OperatorSettings } from "./settings.js";
import { TRAINER_CONTAINER } from "./trainer-reports.js";

const CHECKPOINT_VOLUME = "checkpoints";
/**
 * A fresh PVC's root belongs to root, and the trainer image runs as `node` (uid/gid 1000).
 * With fsGroup the kubelet hands the volume to this group and adds the group to the
 * trainer's processes, so any non-root image can write checkpoints; OnRootMismatch skips
 * the recursive chown of a large checkpoint directory on every later attempt.
 */
const CHECKPOINT_FS_GROUP = 1000;

/** The pod of one attempt: everything the trainer protocol promises, nothing else. */
export function buildTrainerPod(
  run: TrainingRun,
  spec: TrainingRunSpec,
  attempt: number,
  claimName: string,
  settings: OperatorSettings,
): V1Pod {
  const runName = run.metadata.name ?? "";
  const name = podName(runName, attempt);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: run.metadata.namespace,
      labels: { [RUN_LABEL]: runName, [ATTEMPT_LABEL]: String(attempt) },
      ownerReferences: [controllerRef(run)],
    },
    spec: {
      // The operator, not the kubelet, decides about the next attempt.
      restartPolicy: "Never",
      terminationGracePeriodSeconds: spec.preemption.gracePeriodSeconds,
      serviceAccountName: settings.trainerServiceAccountName,
      securityContext: { fsGroup: CHECKPOINT_FS_GROUP, fsGroupChangePolicy: "OnRootMismatch" },
      ...podScheduling(spec.scheduling),
      volumes: [{ name: CHECKPOINT_VOLUME, persistentVolumeClaim: { claimName } }],
      containers: [
        {
          name: TRAINER_CONTAINER,
          image: spec.image,
          imagePullPolicy: spec.imagePullPolicy,
          command: spec.command,
          args: spec.args,
          env: [...protocolEnv(runName, attempt, spec), ...((spec.env ?? []) as V1EnvVar[])],
          resources: podResources(spec.resources),
          volumeMounts: [{ name: CHECKPOINT_VOLUME, mountPath: spec.checkpoint.mountPath }],
          terminationMessagePath: "/dev/termination-log",
          // A trainer that dies without writing its summary still leaves its last log lines.
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
    },
  };
}

/** docs/trainer-protocol.md; OPERATOR_ENV_NAMES, then what the spec asks for; spec.env may set none of them. */
function protocolEnv(runName: string, attempt: number, spec: TrainingRunSpec): V1EnvVar[] {
  const field = (fieldPath: string) => ({ fieldRef: { fieldPath } });
  return [
    { name: ENV.checkpointDir, value: spec.checkpoint.mountPath },
    { name: ENV.config, value: JSON.stringify(spec.training) },
    { name: ENV.run, value: runName },
    { name: ENV.attempt, value: String(attempt) },
    { name: ENV.podName, valueFrom: field("metadata.name") },
    { name: ENV.podNamespace, valueFrom: field("metadata.namespace") },
    { name: ENV.podIp, valueFrom: field("status.podIP") },
    ...(spec.checkpoint.allowFreshStart ? [{ name: ENV.allowFreshStart, value: "true" }] : []),
  ];
}

function podResources(resources: TrainingRunSpec["resources"]): V1ResourceRequirements | undefined {
  if (resources === undefined) return undefined;
  const asStrings = (list: Record<string, number | string> | undefined) =>
    list && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(v)]));
  return { limits: asStrings(resources.limits), requests: asStrings(resources.requests) };
}
