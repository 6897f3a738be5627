import type { V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { API_GROUP_VERSION, KIND } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";

/** The controller reference that makes garbage collection delete a child with its run. */
export function controllerRef(run: TrainingRun): V1OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: run.metadata.name ?? "",
    uid: run.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** False for a pod left over from an earlier run of the same name (deleted and recreated). */
export function isOwnedBy(pod: V1Pod, run: TrainingRun): boolean {
  return pod.metadata?.ownerReferences?.some((r) => r.controller === true && r.uid === run.metadata.uid) ?? false;
}
