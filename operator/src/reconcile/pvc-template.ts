import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { RUN_LABEL } from "../api/group.js";
import { volumeTemplateSchema, type CheckpointSpec } from "../api/spec.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { controllerRef } from "./owner.js";

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
