// Acting on a reclaim notice (model/notice.ts says which node signals are one): recorded on
// the running attempt once, the trainer asked for a checkpoint now through its pod's
// annotation, and the early checkpoint it saved recorded when its report says so.
import type { V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, type CheckpointRequest } from "@resumable/protocol";
import type { AttemptRecord } from "../api/status.js";
import { carriesRequest, checkpointRequestFor, nodeNotice } from "../model/notice.js";
import { toTimestamp } from "../model/time.js";
import type { Action } from "../model/types.js";
import type { Draft } from "./draft.js";

/**
 * The action that asks the trainer of `pod` for a checkpoint now (a reclaim notice, a return
 * to spot), or undefined when the pod already carries this request or has no uid for the
 * patch's precondition.
 */
export function checkpointRequestAction(pod: V1Pod, request: CheckpointRequest | undefined): Action | undefined {
  const uid = pod.metadata?.uid;
  if (request === undefined || uid === undefined || carriesRequest(pod, request.id)) return undefined;
  return {
    kind: "annotatePod",
    name: pod.metadata?.name ?? "",
    uid,
    annotation: CHECKPOINT_REQUEST_ANNOTATION,
    value: JSON.stringify(request),
    purpose: "asking the trainer for a checkpoint (reclaim notice)",
  };
}

/** The trainer's early checkpoint (its progress report's earlyCheckpoint), recorded once per step saved. */
export function noteEarlyCheckpoint(d: Draft, record: AttemptRecord, earlyCheckpointStep: number | undefined): void {
  if (record.noticeAt === undefined || earlyCheckpointStep === undefined || record.earlyCheckpointStep === earlyCheckpointStep) return;
  record.earlyCheckpointStep = earlyCheckpointStep;
  d.event("Normal", "EarlyCheckpoint", `attempt ${record.attempt}'s trainer saved step ${earlyCheckpointStep} on the reclaim notice`);
}

/**
 * A reclaim notice on the node of a running attempt: recorded once (noticeAt, an event), and
 * the trainer asked for a checkpoint now through its pod's annotation, once per notice (the
 * request id says which). The trainer's early checkpoint comes back in its progress report.
 */
export function followNotice(d: Draft, record: AttemptRecord, pod: V1Pod): void {
  const node = pod.spec?.nodeName;
  const notice = node === undefined ? undefined : nodeNotice(d.observed.nodes.get(node), d.settings.noticeSignals);
  if (!notice || pod.status?.phase !== "Running" || pod.metadata?.deletionTimestamp || !pod.metadata?.uid) return;
  if (record.noticeAt === undefined) {
    record.noticeAt = notice.since ?? toTimestamp(d.now);
    record.noticeSource = notice.source;
    d.event("Normal", "ReclaimNotice", `${notice.source}: ${notice.detail} on node ${node}; asking attempt ${record.attempt}'s trainer for a checkpoint now`);
  }
  const ask = checkpointRequestAction(pod, checkpointRequestFor(pod, notice, record.noticeAt));
  if (ask !== undefined) d.actions.push(ask);
}
