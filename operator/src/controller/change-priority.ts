// What a watched change means to the runs: how soon its run wants a pass (a progress report
// that only moved on is routine), a node heartbeat that concerns no run, and the parts of a
// node that are cached at all (trimNode drops the heartbeat times that make an update a
// heartbeat only).
import type { V1Node } from "@kubernetes/client-node";
import { parseProgress, PROGRESS_ANNOTATION } from "@resumable/protocol";
import { isUnchanged, stripManagedFields, type Change, type ObjectMeta, type Priority } from "@resumable/kube-runtime";

/**
 * How soon a change's run wants a pass. Routine: what a resync or relist hands out again
 * unchanged, and a trainer's progress report that only moved on (step, epoch, loss, time).
 * With a thousand runs reporting every few seconds those keep the queue full, and what they
 * change is written at most every --progress-write-interval-seconds anyway. Everything else is
 * urgent and goes ahead of them: a pod ending, a node going, a spec edit, a first report
 * (it sets ProgressReported), and a report that says more than how far training got: a new
 * checkpoint (a fallback pod waits for one to return to spot), a checkpoint failure (the
 * CheckpointFailing condition), a checkpoint made on a reclaim notice, a resume.
 */
export function changePriority(change: Change<ObjectMeta>): Priority {
  if (isUnchanged(change)) return "routine";
  if (change.type !== "Apply" || change.old === undefined) return "urgent";
  const before = annotationsOf(change.old)?.[PROGRESS_ANNOTATION];
  const after = annotationsOf(change.object)?.[PROGRESS_ANNOTATION];
  if (before === undefined || after === undefined || before === after) return "urgent";
  if (!onlyTrainingMovedOn(before, after)) return "urgent";
  return sameApartFrom(change.old, change.object, PROGRESS_ANNOTATION) ? "routine" : "urgent";
}

/** True when two progress reports differ only in the fields every step moves. */
function onlyTrainingMovedOn(before: string, after: string): boolean {
  const a = parseProgress(before);
  const b = parseProgress(after);
  if (a === undefined || b === undefined) return false;
  const rest = ({ step: _s, epoch: _e, loss: _l, updatedAt: _u, ...others }: NonNullable<typeof a>): string => JSON.stringify(others);
  return rest(a) === rest(b);
}

/**
 * True for a node update that changes nothing the operator reads: a heartbeat renews only
 * the conditions' lastHeartbeatTime, which trimNode drops, so the cached objects differ only
 * in resourceVersion. Each such update used to queue every run with a pod on the node.
 */
export function isHeartbeatOnly(change: Change<V1Node>): boolean {
  if (change.type !== "Apply" || change.old === undefined || isUnchanged(change)) return false;
  return sameApartFrom(change.old, change.object);
}

function annotationsOf(o: ObjectMeta): Record<string, string> | undefined {
  return (o.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
}

/** The two objects are equal but for resourceVersion and, if named, one annotation. */
function sameApartFrom(a: ObjectMeta, b: ObjectMeta, annotation?: string): boolean {
  const comparable = (o: ObjectMeta): string => {
    const { resourceVersion: _version, ...meta } = o.metadata ?? {};
    const kept = { ...annotationsOf(o) };
    if (annotation !== undefined) delete kept[annotation];
    return JSON.stringify({ ...o, metadata: { ...meta, annotations: kept } });
  };
  return comparable(a) === comparable(b);
}

/**
 * Every node of the cluster is cached, and the operator reads only their labels, taints,
 * conditions and cordon: a node's image list (tens of entries on a GPU node with large CUDA
 * images), its managed fields and its conditions' heartbeat times (a condition's change is
 * its status and lastTransitionTime) are dropped before they are cached.
 */
export function trimNode(obj: ObjectMeta): void {
  stripManagedFields(obj);
  const node = obj as V1Node;
  if (node.status?.images !== undefined) delete node.status.images;
  for (const condition of node.status?.conditions ?? []) delete condition.lastHeartbeatTime;
}
