// The two systems of the side-by-side (test/bench/gang-vs-jobset.ts): the same N-rank training
// of the reference trainer in gang mode, as a TrainingRun with `workers: N`, and as a JobSet of
// N one-pod Jobs that restarts on disruption. What the JobSet's users would write, and what this
// bench must add for the local cluster (docs/benchmarks.md, "Gang against JobSet"):
//   - failure policy: a Job's podFailurePolicy fails it at once on DisruptionTarget, and the
//     JobSet rule restarts the whole set on such a failure without spending maxRestarts
//     (RestartJobSetAndIgnoreMaxRestarts); any other failure (a survivor that lost its peer)
//     restarts it within maxRestarts (RestartJobSet, JobSet's default action). Recreate, JobSet's default.
//   - the trainer: RESUMABLE_SIGTERM=die, periodic checkpoints only and no coordinated flush,
//     what a team's training script does today (as the goodput bench's job-ckpt).
//   - peers: JobSet relies on cluster DNS, which the local cluster lacks, so the driver publishes
//     the pods' IPs by rank the way our operator does (the peers annotation, projected by a
//     downwardAPI volume in the pod template) once all N pods of the newest restart have one.
//   - storage: a claim of its own mounted at the same path on every rank; only rank 0 writes.
import { ENV, encodePeers, GANG_ENV, PEERS_ANNOTATION, PEERS_FILE, CHECKPOINT_REQUEST_DIR } from "@resumable/protocol";
import { PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { NAMESPACE, type E2E } from "../e2e/harness.js";
import { trainingRun } from "../e2e/runs.js";
import { GRACE_SECONDS, POOL_LABEL, trainerEnv } from "./_goodput-systems.js";

export const GANG_SYSTEMS = ["resumable", "jobset"] as const;
export type GangSystem = (typeof GANG_SYSTEMS)[number];
export const OBJECT: Record<GangSystem, string> = { resumable: "gvj-gang", jobset: "gvj-jobset" };

const JOBSET_LABEL = "jobset.sigs.k8s.io/jobset-name";
const RESTART_LABEL = "jobset.sigs.k8s.io/restart-attempt";
const INDEX_LABEL = "jobset.sigs.k8s.io/job-index";
const gpu = { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } };
const spotToleration = { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" };

export function gangRun(workers: number, training: Record<string, unknown>) {
  return trainingRun(OBJECT.resumable, {
    workers, training,
    env: [...trainerEnv, { name: "RESUMABLE_PROGRESS_SECONDS", value: "1" }],
    scheduling: { spot: true, nodeSelector: { [POOL_LABEL]: "resumable" } },
    resources: gpu,
    preemption: { gracePeriodSeconds: GRACE_SECONDS },
  } as never);
}

export function jobSetClaim() {
  return {
    apiVersion: "v1", kind: "PersistentVolumeClaim",
    metadata: { name: `${OBJECT.jobset}-checkpoints`, namespace: NAMESPACE },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
}

const label = (key: string) => ({ fieldRef: { fieldPath: `metadata.labels['${key}']` } });

export function jobSet(workers: number, training: Record<string, unknown>) {
  return {
    apiVersion: "jobset.x-k8s.io/v1alpha2", kind: "JobSet",
    metadata: { name: OBJECT.jobset, namespace: NAMESPACE },
    spec: {
      failurePolicy: {
        maxRestarts: 5,
        rules: [{ name: "disruption", action: "RestartJobSetAndIgnoreMaxRestarts", onJobFailureReasons: ["PodFailurePolicy"] }],
      },
      replicatedJobs: [{
        name: "workers", replicas: workers,
        template: { spec: {
          parallelism: 1, completions: 1, backoffLimit: 0,
          podFailurePolicy: { rules: [{ action: "FailJob", onPodConditions: [{ type: "DisruptionTarget" }] }] },
          template: { spec: {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: GRACE_SECONDS,
            nodeSelector: { [POOL_LABEL]: "jobset" },
            tolerations: [spotToleration],
            containers: [{
              name: "trainer", image: "resumable/trainer:dev",
              env: [
                { name: ENV.checkpointDir, value: "/checkpoints" },
                { name: ENV.config, value: JSON.stringify(training) },
                // The gang's handshake tells runs apart by it.
                { name: ENV.run, value: OBJECT.jobset },
                { name: ENV.sigterm, value: "die" },
                // No reclaim-notice channel: that is the operator's.
                { name: ENV.checkpointRequestFile, value: "" },
                { name: ENV.podIp, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: GANG_ENV.rank, valueFrom: label(INDEX_LABEL) },
                { name: GANG_ENV.worldSize, value: String(workers) },
                { name: GANG_ENV.peersFile, value: PEERS_FILE },
                ...trainerEnv,
              ],
              resources: gpu,
              volumeMounts: [{ name: "checkpoints", mountPath: "/checkpoints" }, { name: "peers", mountPath: CHECKPOINT_REQUEST_DIR }],
            }],
            volumes: [
              { name: "checkpoints", persistentVolumeClaim: { claimName: `${OBJECT.jobset}-checkpoints` } },
              { name: "peers", downwardAPI: { items: [{ path: PEERS_FILE.slice(CHECKPOINT_REQUEST_DIR.length + 1), fieldRef: { fieldPath: `metadata.annotations['${PEERS_ANNOTATION}']` } }] } },
            ],
          } },
        } },
      }],
    },
  };
}

/** A pod of either system as the driver saw it: its gang attempt (1-based) and rank. */
export interface GangPod { name: string; uid: string; attempt: number; rank: number; node?: string; ip?: string; live: boolean; peers: boolean }

export function gangPodOf(system: GangSystem, pod: V1Pod): GangPod | undefined {
  const name = pod.metadata?.name ?? "";
  const labels = pod.metadata?.labels ?? {};
  let attempt: number;
  let rank: number;
  if (system === "resumable") {
    const m = /-(\d+)-(\d+)$/.exec(name);
    if (!m) return undefined;
    [attempt, rank] = [Number(m[1]), Number(m[2])];
  } else {
    if (labels[RESTART_LABEL] === undefined || labels[INDEX_LABEL] === undefined) return undefined;
    [attempt, rank] = [Number(labels[RESTART_LABEL]) + 1, Number(labels[INDEX_LABEL])];
  }
  const phase = pod.status?.phase;
  return {
    name, uid: pod.metadata!.uid!, attempt, rank,
    ...(pod.spec?.nodeName && { node: pod.spec.nodeName }),
    ...(pod.status?.podIP && { ip: pod.status.podIP }),
    live: !pod.metadata?.deletionTimestamp && phase !== "Failed" && phase !== "Succeeded",
    peers: Boolean(pod.metadata?.annotations?.[PEERS_ANNOTATION]),
  };
}

export const selectorOf = (system: GangSystem) => system === "resumable" ? `resumable.dev/run=${OBJECT.resumable}` : `${JOBSET_LABEL}=${OBJECT.jobset}`;

/**
 * What our operator does for its gangs, done by the driver for the JobSet: once every rank of
 * the newest attempt is live with an IP, each pod gets the addresses by rank. The trainers run
 * without RESUMABLE_ATTEMPT (a JobSet has no such number to give them), so the list says
 * attempt 1, which is what they expect; only the newest attempt's pods ever receive it.
 */
export async function publishJobSetPeers(e: E2E, pods: GangPod[], workers: number): Promise<boolean> {
  const newest = Math.max(0, ...pods.map((p) => p.attempt));
  const gang = pods.filter((p) => p.attempt === newest && p.live);
  if (gang.length !== workers || gang.some((p) => !p.ip) || gang.every((p) => p.peers)) return false;
  const addresses = [...gang].sort((a, b) => a.rank - b.rank).map((p) => p.ip!);
  if (new Set(gang.map((p) => p.rank)).size !== workers) return false;
  const value = encodePeers({ attempt: 1, addresses });
  await Promise.all(gang.map((p) => e.core.patchNamespacedPod({
    name: p.name, namespace: NAMESPACE, body: { metadata: { annotations: { [PEERS_ANNOTATION]: value } } },
  }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch))));
  return true;
}

export async function finished(e: E2E, system: GangSystem): Promise<"completed" | "failed" | undefined> {
  if (system === "resumable") {
    const phase = (await e.getRun(OBJECT.resumable)).status?.phase;
    return phase === "Succeeded" ? "completed" : phase === "Failed" ? "failed" : undefined;
  }
  const js = JSON.parse(await e.kubectl(["get", "jobset", OBJECT.jobset, "-n", NAMESPACE, "-o", "json"])) as { status?: { conditions?: { type: string; status: string }[] } };
  const on = (type: string) => (js.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");
  return on("Completed") ? "completed" : on("Failed") ? "failed" : undefined;
}
