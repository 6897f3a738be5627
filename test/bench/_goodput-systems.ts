// The systems the goodput benchmark compares (test/bench/_goodput.ts runs them), and the
// objects each one is: a TrainingRun, or a batch/v1 Job running the same trainer image.
// Every Job is what a careful team writes for spot today: a podFailurePolicy that keeps
// disruptions out of backoffLimit, so preemptions alone never fail it.
import { ENV, EXIT_CODES, type SigtermMode } from "@resumable/protocol";
import { NAMESPACE } from "../e2e/harness.js";

/**
 * resumable  a TrainingRun (SIGTERM flush + periodic checkpoints every N steps);
 * job-flush  a Job running the same trainer with its SIGTERM flush, checkpoints every N steps
 *            on a PVC: what a team gets by adopting only the trainer protocol;
 * job-ckpt   the same Job with RESUMABLE_SIGTERM=die: periodic checkpoints only, no flush;
 * job-none   the same Job without any checkpoint: every preemption restarts from step 0.
 * job-ckpt-sparse  (only when asked, for the sweep over N) the job-ckpt Job checkpointing
 *            every `sparseEverySteps` steps: a second N in the same cluster and schedule.
 */
export const SYSTEMS = ["resumable", "job-flush", "job-ckpt", "job-none"] as const;
export type System = (typeof SYSTEMS)[number] | "job-ckpt-sparse";

// No name may start with another's name and a dash: attemptsOf finds pods by that prefix.
export const OBJECT: Record<System, string> = {
  resumable: "gp-resumable", "job-flush": "gp-job-flush", "job-ckpt": "gp-job-ckpt", "job-none": "gp-job-none",
  "job-ckpt-sparse": "gp-sparse-ckpt",
};
export const POOL_LABEL = "bench.resumable.dev/pool";
export const GRACE_SECONDS = 25;

export interface CheckpointChoice {
  /** Periodic checkpoint every N steps (resumable and the Jobs with checkpoints alike). */
  everySteps: number;
  /** With job-ckpt-sparse among the systems: its checkpoint interval in steps. */
  sparseEverySteps?: number;
  training: Record<string, unknown>;
}

/** `perSystem` spot nodes of one GPU for each pool (a system's name), labelled with it. */
export function nodesFor(systems: readonly string[], perSystem: number): object[] {
  return systems.flatMap((system) =>
    Array.from({ length: perSystem }, (_, i) => ({
      name: `${system}-${i}`,
      labels: {
        "cloud.google.com/gke-spot": "true",
        "cloud.google.com/gke-provisioning": "spot",
        [POOL_LABEL]: system,
      },
      taints: [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" }],
      capacity: { cpu: "4", memory: "15Gi", pods: "110", "nvidia.com/gpu": "1" },
      shutdownGracePeriodSeconds: GRACE_SECONDS,
    })),
  );
}

export const trainerEnv = [{ name: "LOG_LEVEL", value: "trace" }, { name: "RESUMABLE_METRICS_PORT", value: "0" }];

/** How the Job's trainer meets SIGTERM: only job-flush keeps the trainer's own flush. */
function sigtermOf(system: Exclude<System, "resumable">): SigtermMode {
  return system === "job-flush" ? "flush" : "die";
}

export function jobFor(system: Exclude<System, "resumable">, training: Record<string, unknown>) {
  const name = OBJECT[system];
  const ckpt = system !== "job-none";
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      backoffLimit: 2,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
          // The trainer's own word for "stopped by a signal": a preemption the kubelet did not
          // mark (a plain pod deletion) is not a failure either. The die baselines exit 143 too.
          { action: "Ignore", onExitCodes: { containerName: "trainer", operator: "In", values: [EXIT_CODES.preempted] } },
        ],
      },
      template: {
        metadata: { labels: { "bench.resumable.dev/system": system } },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: GRACE_SECONDS,
          nodeSelector: { [POOL_LABEL]: system },
          tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" }],
          containers: [{
            name: "trainer",
            image: "resumable/trainer:dev",
            env: [
              { name: ENV.checkpointDir, value: "/checkpoints" },
              { name: ENV.config, value: JSON.stringify(training) },
              { name: ENV.sigterm, value: sigtermOf(system) },
              ...trainerEnv,
            ],
            resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } },
            volumeMounts: [{ name: "checkpoints", mountPath: "/checkpoints" }],
          }],
          volumes: [ckpt ? { name: "checkpoints", persistentVolumeClaim: { claimName: `${name}-checkpoints` } } : { name: "checkpoints", emptyDir: {} }],
        },
      },
    },
  };
}

export function pvcFor(system: Exclude<System, "resumable" | "job-none">) {
  return {
    apiVersion: "v1", kind: "PersistentVolumeClaim",
    metadata: { name: `${OBJECT[system]}-checkpoints`, namespace: NAMESPACE },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
}

/** The system's checkpoint interval in steps; 0 for the Job without checkpoints. */
export function checkpointEvery(system: System, opts: CheckpointChoice): number {
  if (system === "job-none") return 0;
  const every = system === "job-ckpt-sparse" ? opts.sparseEverySteps : opts.everySteps;
  if (every === undefined) throw new Error(`goodput: ${system} needs sparseEverySteps`);
  return every;
}

export function trainingConfig(system: System, opts: CheckpointChoice): Record<string, unknown> {
  const everySteps = checkpointEvery(system, opts);
  const checkpoint = everySteps === 0 ? { everySteps: 0, everySeconds: 0, keep: 1 } : { everySteps, everySeconds: 0, keep: 3 };
  return { ...opts.training, checkpoint };
}
