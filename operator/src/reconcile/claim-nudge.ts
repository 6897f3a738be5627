// A pod the scheduler left waiting for a claim that is in fact bound. The scheduler keeps its
// own cache of claims, fed by a different informer handler than the one that requeues pods
// (kubernetes/kubernetes#73216, #125762): when the claim is bound just as the pod is first
// tried, the retry can read the claim as unbound again, and with no further event the pod
// waits for the scheduler's five-minute flush. The operator creates the claim and the pod in
// one pass, so a fast provisioner meets exactly that. One update of the claim is the event
// that makes the scheduler look again, by then with the binding in its cache.
import type { V1Pod } from "@kubernetes/client-node";
import { RUN_LABEL } from "../api/group.js";
import { isAlive, isTerminating } from "../model/observe.js";
import type { Draft } from "./draft.js";

/** On the claim: the uid of the pod it was last touched for (one nudge per pod). */
export const SCHEDULER_NUDGE_ANNOTATION = "resumable.dev/rescheduled-pod";

/** kube-scheduler's VolumeBinding PreFilter reason for a pod whose Immediate claim it sees unbound. */
const UNBOUND_CLAIM_REASON = "unbound immediate PersistentVolumeClaims";

/**
 * Touches the run's checkpoint claim once for a pod of the run that the scheduler calls
 * unschedulable for an unbound claim while the claim is Bound. Only a claim the operator
 * created (it carries the run's label), never a user's claim (spec.checkpoint.claimName).
 */
export function nudgeScheduler(d: Draft, pods: readonly V1Pod[]): void {
  const claim = d.observed.pvc;
  const name = claim?.metadata?.name;
  const uid = claim?.metadata?.uid;
  if (claim?.status?.phase !== "Bound" || name === undefined || uid === undefined || isTerminating(claim)) return;
  if (claim.metadata?.labels?.[RUN_LABEL] !== d.observed.run.metadata.name) return;
  const waiting = pods.find((pod) => {
    if (pod.spec?.nodeName || !isAlive(pod) || isTerminating(pod)) return false;
    const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    return scheduled?.status === "False" && (scheduled.message ?? "").includes(UNBOUND_CLAIM_REASON);
  });
  const podUid = waiting?.metadata?.uid;
  if (podUid === undefined || claim.metadata?.annotations?.[SCHEDULER_NUDGE_ANNOTATION] === podUid) return;
  d.actions.push({
    kind: "annotateClaim",
    name,
    uid,
    annotation: SCHEDULER_NUDGE_ANNOTATION,
    value: podUid,
    purpose: `asking the scheduler to try pod ${waiting?.metadata?.name} again: it saw claim ${name} unbound, and it is Bound`,
  });
}
