import { findRecord } from "./attempts.js";
import type { Draft } from "./draft.js";
import { isAlive, isTerminating, type ObservedPods } from "./observed-pods.js";
import { assessPod } from "./pod-assessment.js";

/** Re-check soon after recording an outcome whose pod still has to be removed. */
const FOLLOW_UP_MS = 1_000;

/**
 * Deletes pods of attempts whose end an earlier pass recorded (never in the pass that
 * records it: if that status write failed, the outcome would be lost with the pod). Stuck
 * pods on lost nodes go with grace 0; terminal pods of superseded attempts are tidied away,
 * the newest is kept for `kubectl logs`.
 */
export function removeFinishedPods(d: Draft, pods: ObservedPods): void {
  const before = d.observed.run.status;
  for (const [attempt, pod] of pods.byAttempt) {
    const recorded = before?.attempts?.find((r) => r.attempt === attempt);
    // A record dropped from the bounded history belonged to an attempt that had ended.
    const endedBefore = recorded ? recorded.endTime !== undefined : attempt <= (before?.attempt ?? 0);
    const justEnded = !endedBefore && findRecord(d.status, attempt)?.endTime !== undefined;
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid;
    if (justEnded && isAlive(pod)) d.requeueIn(FOLLOW_UP_MS);
    if (!endedBefore) continue;
    if (isAlive(pod)) {
      const lost = assessPod(pod, d.observed.nodes);
      if (!lost.ended && lost.node.lost) {
        d.actions.push({ kind: "deletePod", name, uid, gracePeriodSeconds: 0, reason: "stuck on a lost node" });
      } else if (!isTerminating(pod)) {
        d.actions.push({ kind: "deletePod", name, uid, reason: "its attempt has ended" });
      }
    } else if (attempt < (d.status.attempt ?? 0)) {
      d.actions.push({ kind: "deletePod", name, uid, reason: "superseded by a newer attempt" });
    }
  }
}
