// The goodput benchmark's disruptions: a schedule drawn from a seed, and how each kind is
// played on the local cluster's process kubelet (docs/local-cluster.md, Faults):
//   reclaim    graceful node shutdown (`spot-reclaim`): SIGTERM, DisruptionTarget, Node deleted;
//   evict      the Eviction API: SIGTERM, DisruptionTarget, the node stays;
//   hard-loss  power-off (`hard-loss`): every container SIGKILLed, no SIGTERM, the node silent.
//              The cloud then deletes the Node of a VM that is gone (what a cloud controller
//              manager's node lifecycle does once the node is NotReady), played here too, so
//              PodGC can fail the pods and a Job can replace them as it would on a cloud.
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { NAMESPACE, type E2E } from "../e2e/harness.js";
import { seededRandom } from "../support/seeded-random.js";
import { OBJECT, POOL_LABEL, type System } from "./_goodput-systems.js";

export const DISRUPTION_KINDS = ["reclaim", "evict", "hard-loss"] as const;
export type DisruptionKind = (typeof DISRUPTION_KINDS)[number];

export interface Disruption { at: number; kind: DisruptionKind; pod: string; node: string }

/** Shares of the schedule, each of all disruptions; what is left over are evictions. */
export interface DisruptionShares { reclaim: number; hardLoss: number }

export function checkShares(shares: DisruptionShares): void {
  for (const [name, share] of Object.entries(shares)) {
    if (!(share >= 0 && share <= 1)) throw new Error(`goodput: the ${name} share must be between 0 and 1, got ${share}`);
  }
  if (shares.reclaim + shares.hardLoss > 1) {
    throw new Error(`goodput: the reclaim share (${shares.reclaim}) and the hard-loss share (${shares.hardLoss}) add up to more than 1`);
  }
}

/**
 * Disruption times (s after start) with exponential gaps of mean `mean`, up to `horizon`. One
 * draw picks the kind: below `reclaim` a reclaim, then `hardLoss` of hard losses, the rest
 * evictions; so a schedule without hard losses is the one the same seed drew before they existed.
 */
export function preemptionSchedule(seed: number, mean: number, horizon: number, shares: DisruptionShares) {
  checkShares(shares);
  const rand = seededRandom(seed);
  const out: { at: number; kind: DisruptionKind }[] = [];
  for (let t = -mean * Math.log(1 - rand()); t < horizon; t += -mean * Math.log(1 - rand())) {
    const u = rand();
    out.push({ at: t, kind: u < shares.reclaim ? "reclaim" : u < shares.reclaim + shares.hardLoss ? "hard-loss" : "evict" });
  }
  return out;
}

/** Pods already hit: a pod shutting down stays Running for a moment and must not be hit twice. */
const disrupted = new Set<string>();

async function runningPod(e: E2E, system: System): Promise<V1Pod | undefined> {
  const selector = system === "resumable" ? `resumable.dev/run=${OBJECT.resumable}` : `batch.kubernetes.io/job-name=${OBJECT[system]}`;
  const pods = (await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: selector })).items;
  return pods.find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp && p.spec?.nodeName && !disrupted.has(p.metadata!.uid!));
}

/**
 * Applies one disruption to the system's running pod; a pod not running yet escapes it, as on
 * a real pool. A node-taking kind (reclaim, hard loss) keeps one node of the pool alive for the
 * next pod: past that it becomes an eviction. `background` collects the cloud's deletion of a
 * lost node, which runs on while the schedule goes on.
 */
export async function disrupt(e: E2E, system: System, kind: DisruptionKind, log: (l: string) => void, background: Promise<unknown>[]): Promise<Disruption | undefined> {
  const pod = await runningPod(e, system);
  if (!pod) return undefined;
  const name = pod.metadata!.name!;
  const node = pod.spec!.nodeName!;
  let how = kind;
  if (kind !== "evict") {
    const left = (await e.core.listNode({ labelSelector: `${POOL_LABEL}=${system}` })).items
      .filter((n) => !n.metadata?.annotations?.["resumable.dev/fault"]);
    if (left.length < 2) how = "evict";
  }
  disrupted.add(pod.metadata!.uid!);
  const at = Date.now();
  if (how === "evict") {
    await e.core.createNamespacedPodEviction({
      name, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: NAMESPACE } },
    });
  } else {
    await e.kubectl(["annotate", "node", node, `resumable.dev/fault=${how === "reclaim" ? "spot-reclaim" : "hard-loss"}`]);
    if (how === "hard-loss") background.push(cloudDeletesLostNode(e, node, log).catch((err: Error) => log(`cloud: deleting ${node} failed: ${err.message}`)));
  }
  log(`${system}: ${how} ${name} on ${node}`);
  return { at, kind: how, pod: name, node };
}

/** Deletes a lost node once the controller-manager has marked it unreachable (Ready=Unknown). */
export async function cloudDeletesLostNode(e: E2E, node: string, log: (l: string) => void): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const ready = (await e.core.readNode({ name: node })).status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status === "Unknown") {
      await e.core.deleteNode({ name: node });
      log(`cloud: deleted lost node ${node}`);
      return;
    }
    await sleep(1000);
  }
  log(`cloud: ${node} was never marked unreachable; not deleted`);
}
