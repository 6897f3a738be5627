// How a checkpoint location reaches the trainer pod: the PVC mounted at the directory, or for
// a bucket only its credentials Secret (if any), where RESUMABLE_S3_CREDENTIALS_DIR says. The
// variables themselves are the protocol's toEnv (render.ts).
import type { V1KeyToPath, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { S3_CREDENTIAL_FILES } from "@resumable/protocol";
import type { RunLocation } from "../model/observe.js";

const CHECKPOINT_VOLUME = "checkpoints";
/** spec.checkpoint.storage.s3.credentialsSecret, mounted where RESUMABLE_S3_CREDENTIALS_DIR says. */
const S3_CREDENTIALS_VOLUME = "s3-credentials";

/** The location's volumes and mounts: the PVC at the directory, or a bucket's credentials secret (if any). */
export function locationVolumes(location: RunLocation): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  if (location.kind === "volume") {
    return {
      volumes: [{ name: CHECKPOINT_VOLUME, persistentVolumeClaim: { claimName: location.claimName } }],
      mounts: [{ name: CHECKPOINT_VOLUME, mountPath: location.directory }],
    };
  }
  const secret = location.credentialsSecret;
  if (secret === undefined || location.credentialsDir === undefined) return { volumes: [], mounts: [] };
  // Keys renamed to the files the trainer reads. Without renames the whole secret is
  // projected, so an optional AWS_SESSION_TOKEN in it reaches the trainer too; with items a
  // key the secret lacks keeps the pod from starting (FailedMount names it).
  const items: V1KeyToPath[] | undefined =
    secret.accessKeyIdKey === undefined && secret.secretAccessKeyKey === undefined
      ? undefined
      : [
          { key: secret.accessKeyIdKey ?? S3_CREDENTIAL_FILES.accessKeyId, path: S3_CREDENTIAL_FILES.accessKeyId },
          { key: secret.secretAccessKeyKey ?? S3_CREDENTIAL_FILES.secretAccessKey, path: S3_CREDENTIAL_FILES.secretAccessKey },
        ];
  return {
    volumes: [{ name: S3_CREDENTIALS_VOLUME, secret: { secretName: secret.name, ...(items === undefined ? {} : { items }) } }],
    mounts: [{ name: S3_CREDENTIALS_VOLUME, mountPath: location.credentialsDir, readOnly: true }],
  };
}
