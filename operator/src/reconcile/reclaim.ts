// Acting on a reclaim notice (model/notice.ts says which node signals are one): the action
// that asks a running trainer for a checkpoint now through its pod's annotation.
import type { V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, type CheckpointRequest } from "@resumable/protocol";
import { carriesRequest } from "../model/notice.js";
import type { Action } from "../model/types.js";

/**
 * The action that asks the trainer of `pod` for a checkpoint now (a reclaim notice, a return
 * to spot), or undefined when the pod already carries this request or has no uid for the
 * patch's precondition.
 */
export function checkpointRequestAction(pod: V1Pod, request: CheckpointRequest | undefined): Action | undefined {
  const uid = pod.metadata?.uid;
  if (request === undefined || uid === undefined || carriesRequest(pod, request.id)) return undefined;
  return { kind: "requestCheckpoint", name: pod.metadata?.name ?? "", uid, annotation: CHECKPOINT_REQUEST_ANNOTATION, value: JSON.stringify(request) };
}
