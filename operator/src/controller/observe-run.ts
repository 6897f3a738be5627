// What one pass reads, from the caches alone: the run, its pods (and the last state of those
// that ended and went), its checkpoint location and claim, the nodes, and the other runs and
// pods that share its location.
import { podGroupName, queueOf } from "../model/kueue.js";
import { checkpointLocation } from "../model/observe.js";
import type { Observed } from "../model/types.js";
import type { TrainingRun } from "../api/trainingrun.js";
import type { ClusterCache } from "./cluster-cache.js";

/** What a pass reads: the caches, nothing else. */
export type RunCache = Pick<ClusterCache, "run" | "podsOfRun" | "endedPodsGone" | "podsOnNode" | "mountFailuresOf" | "pvc" | "nodes" | "onRunChange" | "runsSharingStorage" | "podsSharingStorage"> &
  Partial<Pick<ClusterCache, "workloadsOf">>;

export function observeRun(cache: RunCache, run: TrainingRun, namespace: string, name: string, now: Date): Observed {
  // The pass's one answer to "volume or bucket"; only a volume has a claim to look up.
  const location = checkpointLocation(run);
  const pvc = location?.kind === "volume" ? cache.pvc(namespace, location.claimName) : undefined;
  const pods = cache.podsOfRun(namespace, name);
  const endedPodsGone = cache.endedPodsGone(namespace, name);
  const mountFailures = pods.flatMap((pod) => cache.mountFailuresOf(namespace, pod));
  // A queued run's Workloads: its newest attempt's group, and the next one's (its pods may be
  // created by a pass whose status write was lost).
  const newest = run.status?.attempt ?? 0;
  const groups = queueOf(run) === undefined ? [] : [newest, newest + 1].filter((a) => a > 0).map((a) => podGroupName(name, a));
  const workloads = groups.length > 0 ? (cache.workloadsOf?.(namespace, groups) ?? []) : [];
  return {
    run,
    location,
    pods,
    ...(mountFailures.length > 0 ? { mountFailures } : {}),
    ...(endedPodsGone.length > 0 ? { endedPodsGone } : {}),
    ...(pvc ? { pvc } : {}),
    ...(workloads.length > 0 ? { workloads } : {}),
    nodes: cache.nodes(),
    otherRuns: cache.runsSharingStorage(run),
    otherPods: cache.podsSharingStorage(run),
    podsOnNode: (node) => cache.podsOnNode(node),
    now,
  };
}
