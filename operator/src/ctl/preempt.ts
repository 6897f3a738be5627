// `resumable preempt <run>`: evicts the run's live pod through the Eviction
// API — the same path as `kubectl drain` and a cloud's node termination
// handler — so users rehearse recovery before a real spot reclaim.
import type { V1Pod } from "@kubernetes/client-node";
import { RUN_LABEL } from "../api/group.js";
import { podOfAttempt } from "../model/observe.js";
import { CliError, explain, getRun, type Clients } from "./client.js";

export async function preempt(c: Clients, name: string): Promise<string> {
  const run = await getRun(c, name);
  let pods: V1Pod[];
  try {
    pods = (await c.core.listNamespacedPod({ namespace: c.namespace, labelSelector: `${RUN_LABEL}=${name}` })).items;
  } catch (err) {
    throw explain(err, c, `pods of TrainingRun ${c.namespace}/${name}`);
  }
  // The current attempt's pod, found as reconcile finds it; only while it is live.
  const pod = podOfAttempt(pods, name, run.status?.attempt ?? 0);
  const live = pod && !pod.metadata?.deletionTimestamp && (pod.status?.phase === "Running" || pod.status?.phase === "Pending");
  if (!live || !pod.metadata?.name) {
    throw new CliError(`TrainingRun ${c.namespace}/${name} has no running pod to preempt`);
  }
  try {
    await c.core.createNamespacedPodEviction({
      name: pod.metadata.name,
      namespace: c.namespace,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata.name, namespace: c.namespace } },
    });
  } catch (err) {
    throw explain(err, c, `eviction of pod ${c.namespace}/${pod.metadata.name}`);
  }
  return `Evicted pod ${pod.metadata.name} on ${pod.spec?.nodeName ?? "?"}; the next attempt resumes from its final checkpoint.`;
}
