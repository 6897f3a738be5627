/**
 * TrainingRun objects with the verdict both the operator's zod schema and the CRD (a real
 * apiserver with crds/resumable.dev_trainingruns.yaml applied) must reach. The unit tests
 * run the zod side; the integration suite can `kubectl apply --dry-run=server` each one.
 */
export interface CorpusCase {
  name: string;
  object: Record<string, unknown>;
  valid: boolean;
  /** Invalid cases: the field the rejection names, as the operator reports it. */
  field?: string;
}

export function trainingRun(spec: Record<string, unknown>, name = "corpus"): Record<string, unknown> {
  return {
    apiVersion: "resumable.dev/v1alpha1",
    kind: "TrainingRun",
    metadata: { name },
    spec: { training: { model: "mlp", totalSteps: 600 }, ...spec },
  };
}

/** The smallest valid object, and its spec as defaulting (apiserver or zod) must leave it. */
export const minimal = trainingRun({});
export const minimalDefaulted = {
  image: "resumable/trainer:0.1.0",
  training: { model: "mlp", totalSteps: 600 },
  checkpoint: { mountPath: "/checkpoints", retainOnDelete: true, allowFreshStart: false },
  preemption: { gracePeriodSeconds: 25 },
  failurePolicy: { maxRetries: 3, backoff: { initialSeconds: 10, maxSeconds: 300 } },
  scheduling: { spot: false, gangTimeoutSeconds: 300 },
  suspend: false,
  workers: 1,
};

const valid = (name: string, spec: Record<string, unknown>): CorpusCase => ({ name, object: trainingRun(spec), valid: true });
const invalid = (name: string, field: string, spec: Record<string, unknown>): CorpusCase => ({
  name,
  object: trainingRun(spec),
  valid: false,
  field,
});

export const corpus: CorpusCase[] = [
  { name: "minimal", object: minimal, valid: true },
  valid("everything set", {
    image: "registry.example/trainer:1",
    imagePullPolicy: "IfNotPresent",
    command: ["resumable-trainer"],
    args: ["--verbose"],
    env: [
      { name: "RESUMABLE_PROGRESS_SECONDS", value: "2" },
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
    ],
    resources: { limits: { "nvidia.com/gpu": 1, memory: "4Gi", cpu: "1500m" }, requests: { cpu: 1 } },
    checkpoint: { volume: { size: "10Gi", storageClassName: "fast", accessModes: ["ReadWriteOncePod"] }, mountPath: "/ckpt", retainOnDelete: false },
    preemption: { gracePeriodSeconds: 90, maxPreemptions: 20 },
    failurePolicy: { maxRetries: 0, backoff: { initialSeconds: 5, maxSeconds: 5 } },
    scheduling: {
      spot: true,
      nodeSelector: { pool: "gpu" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
      priorityClassName: "batch-low",
    },
    suspend: true,
  }),
  valid("an existing claim", { checkpoint: { claimName: "shared-checkpoints" } }),
  valid("a volume size in bytes", { checkpoint: { volume: { size: 1073741824 } } }),
  { name: "a 63-character name", object: trainingRun({}, "n".repeat(63)), valid: true },
  valid("prefixed nodeSelector keys and an empty value", { scheduling: { nodeSelector: { "cloud.google.com/gke-nodepool": "gpu-pool", "example.com/empty": "" } } }),
  valid("a root trainer, said explicitly", { securityContext: { runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: false } }),
  valid("a Localhost seccomp profile and SYS_ADMIN with escalation", {
    securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "p.json" }, capabilities: { add: ["SYS_ADMIN"] }, allowPrivilegeEscalation: true },
  }),
  valid("tolerate everything", { scheduling: { tolerations: [{ operator: "Exists" }] } }),
  valid("spot with a fallback after 2 preemptions that returns after an hour", {
    scheduling: { spot: true, fallback: { afterPreemptions: 2, returnToSpotAfterSeconds: 3600 } },
  }),
  valid("a fallback on pending with its own on-demand selector", {
    scheduling: { spot: true, fallback: { afterPendingSeconds: 300, onDemandNodeSelector: { "example.com/pool": "on-demand" } } },
  }),
  valid("checkpoints in a bucket with endpoint, region and a credentials secret", {
    checkpoint: {
      storage: {
        s3: {
          bucket: "ml-checkpoints",
          prefix: "team-a/mnist/",
          endpoint: "http://seaweedfs-s3.storage:8333",
          region: "eu-west-1",
          credentialsSecret: { name: "s3-key", accessKeyIdKey: "id", secretAccessKeyKey: "secret" },
        },
      },
    },
  }),
  valid("checkpoints in a bucket through workload identity (no secret)", { checkpoint: { storage: { s3: { bucket: "my_gcs.bucket-1", prefix: "runs/a..b" } } } }),

  { name: "no training config", object: { ...minimal, spec: {} }, valid: false, field: "spec.training" },
  invalid("claimName and volume", "spec.checkpoint.claimName", { checkpoint: { claimName: "a", volume: { size: "1Gi" } } }),
  invalid("retainOnDelete false on an existing claim", "spec.checkpoint.retainOnDelete", { checkpoint: { claimName: "a", retainOnDelete: false } }),
  invalid("a relative mountPath", "spec.checkpoint.mountPath", { checkpoint: { mountPath: "checkpoints" } }),
  invalid("no access modes", "spec.checkpoint.volume.accessModes", { checkpoint: { volume: { accessModes: [] } } }),
  invalid("a read-only access mode", "spec.checkpoint.volume.accessModes[0]", { checkpoint: { volume: { accessModes: ["ReadOnlyMany"] } } }),
  invalid("a size that is no quantity", "spec.checkpoint.volume.size", { checkpoint: { volume: { size: "lots" } } }),
  invalid("a GPU count that is no quantity", "spec.resources.limits.nvidia.com/gpu", { resources: { limits: { "nvidia.com/gpu": "one" } } }),
  invalid("backoff initial above max", "spec.failurePolicy.backoff.initialSeconds", { failurePolicy: { backoff: { initialSeconds: 600, maxSeconds: 60 } } }),
  invalid("negative maxRetries", "spec.failurePolicy.maxRetries", { failurePolicy: { maxRetries: -1 } }),
  invalid("a zero grace period", "spec.preemption.gracePeriodSeconds", { preemption: { gracePeriodSeconds: 0 } }),
  invalid("negative maxPreemptions", "spec.preemption.maxPreemptions", { preemption: { maxPreemptions: -1 } }),
  invalid("a protocol env var", "spec.env", { env: [{ name: "RESUMABLE_CHECKPOINT_DIR", value: "/tmp" }] }),
  invalid("an env var without a name", "spec.env[0].name", { env: [{ name: "" }] }),
  invalid("an unknown pull policy", "spec.imagePullPolicy", { imagePullPolicy: "Sometimes" }),
  invalid("an unknown toleration operator", "spec.scheduling.tolerations[0].operator", { scheduling: { tolerations: [{ key: "k", operator: "Maybe" }] } }),
  invalid("spot as a string", "spec.scheduling.spot", { scheduling: { spot: "yes" } }),
  invalid("a fallback without spot", "spec.scheduling.fallback", { scheduling: { fallback: { afterPreemptions: 1 } } }),
  invalid("a fallback with neither trigger", "spec.scheduling.fallback", { scheduling: { spot: true, fallback: { returnToSpotAfterSeconds: 60 } } }),
  invalid("a fallback after 0 preemptions", "spec.scheduling.fallback.afterPreemptions", { scheduling: { spot: true, fallback: { afterPreemptions: 0 } } }),
  invalid("an empty image", "spec.image", { image: "" }),
  invalid("an env var name with a space", "spec.env[0].name", { env: [{ name: "MY VAR", value: "x" }] }),
  invalid("a claimName that is no object name", "spec.checkpoint.claimName", { checkpoint: { claimName: "My_Claim" } }),
  invalid("a priorityClassName that is no object name", "spec.scheduling.priorityClassName", { scheduling: { priorityClassName: "Low Priority" } }),
  invalid("a value with operator Exists", "spec.scheduling.tolerations[0].value", { scheduling: { tolerations: [{ key: "k", operator: "Exists", value: "v" }] } }),
  invalid("tolerationSeconds without NoExecute", "spec.scheduling.tolerations[0].tolerationSeconds", { scheduling: { tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }] } }),
  invalid("an empty toleration key with operator Equal", "spec.scheduling.tolerations[0].key", { scheduling: { tolerations: [{ operator: "Equal", value: "v" }] } }),
  { name: "a 64-character name", object: trainingRun({}, "n".repeat(64)), valid: false, field: "" },
  valid("a gang of 64 workers", { workers: 64, scheduling: { gangTimeoutSeconds: 10 } }),
  valid("RANK set on a single pod", { workers: 1, env: [{ name: "RANK", value: "0" }] }),
  invalid("no workers", "spec.workers", { workers: 0 }),
  invalid("65 workers", "spec.workers", { workers: 65 }),
  invalid("a gang timeout of 9 seconds", "spec.scheduling.gangTimeoutSeconds", { scheduling: { gangTimeoutSeconds: 9 } }),
  invalid("MASTER_ADDR set on a gang", "spec.env", { workers: 2, env: [{ name: "MASTER_ADDR", value: "x" }] }),
  { name: "a 56-character name for a gang of 2", object: trainingRun({ workers: 2 }, "n".repeat(56)), valid: false, field: "" },
  { name: "a 55-character name for a gang of 10", object: trainingRun({ workers: 10 }, "n".repeat(55)), valid: true },
  { name: "a 55-character name for a gang of 11", object: trainingRun({ workers: 11 }, "n".repeat(55)), valid: false, field: "" },
  invalid("a nodeSelector value that is no label value", "spec.scheduling.nodeSelector.pool", { scheduling: { nodeSelector: { pool: "a b" } } }),
  invalid("runAsUser 0 with the default runAsNonRoot", "spec.securityContext.runAsUser", { securityContext: { runAsUser: 0 } }),
  invalid("a Localhost seccomp profile without its path", "spec.securityContext.seccompProfile.localhostProfile", { securityContext: { seccompProfile: { type: "Localhost" } } }),
  invalid("a localhostProfile with RuntimeDefault", "spec.securityContext.seccompProfile.localhostProfile", { securityContext: { seccompProfile: { type: "RuntimeDefault", localhostProfile: "p.json" } } }),
  invalid("SYS_ADMIN without privilege escalation", "spec.securityContext.capabilities", { securityContext: { capabilities: { add: ["SYS_ADMIN"] } } }),
  invalid("a negative runAsUser", "spec.securityContext.runAsUser", { securityContext: { runAsUser: -1 } }),
  invalid("an unknown seccomp type", "spec.securityContext.seccompProfile.type", { securityContext: { seccompProfile: { type: "Strict" } } }),
  invalid("a bucket and a claimName", "spec.checkpoint.storage.s3", { checkpoint: { claimName: "a", storage: { s3: { bucket: "b-1", prefix: "p" } } } }),
  invalid("a bucket and a volume", "spec.checkpoint.storage.s3", { checkpoint: { volume: { size: "1Gi" }, storage: { s3: { bucket: "b-1", prefix: "p" } } } }),
  invalid("retainOnDelete false with a bucket", "spec.checkpoint.retainOnDelete", { checkpoint: { retainOnDelete: false, storage: { s3: { bucket: "b-1", prefix: "p" } } } }),
  invalid("a bucket name with capitals", "spec.checkpoint.storage.s3.bucket", { checkpoint: { storage: { s3: { bucket: "MyBucket", prefix: "p" } } } }),
  invalid("a bucket name of 2 characters", "spec.checkpoint.storage.s3.bucket", { checkpoint: { storage: { s3: { bucket: "ab", prefix: "p" } } } }),
  invalid("a bucket name ending in a hyphen", "spec.checkpoint.storage.s3.bucket", { checkpoint: { storage: { s3: { bucket: "bucket-", prefix: "p" } } } }),
  invalid("a bucket name with adjacent periods", "spec.checkpoint.storage.s3.bucket", { checkpoint: { storage: { s3: { bucket: "my..bucket", prefix: "p" } } } }),
  invalid("a bucket name that is an IP address", "spec.checkpoint.storage.s3.bucket", { checkpoint: { storage: { s3: { bucket: "192.168.5.4", prefix: "p" } } } }),
  invalid("a bucket without a prefix", "spec.checkpoint.storage.s3.prefix", { checkpoint: { storage: { s3: { bucket: "b-1" } } } }),
  invalid("a prefix with a leading slash", "spec.checkpoint.storage.s3.prefix", { checkpoint: { storage: { s3: { bucket: "b-1", prefix: "/runs/a" } } } }),
  invalid("a prefix with a '..' segment", "spec.checkpoint.storage.s3.prefix", { checkpoint: { storage: { s3: { bucket: "b-1", prefix: "runs/../other" } } } }),
  invalid("a prefix that is '.'", "spec.checkpoint.storage.s3.prefix", { checkpoint: { storage: { s3: { bucket: "b-1", prefix: "." } } } }),
  invalid("an endpoint that is no http(s) URL", "spec.checkpoint.storage.s3.endpoint", { checkpoint: { storage: { s3: { bucket: "b-1", prefix: "p", endpoint: "minio:9000" } } } }),
  invalid("a credentials secret without a name", "spec.checkpoint.storage.s3.credentialsSecret.name", { checkpoint: { storage: { s3: { bucket: "b-1", prefix: "p", credentialsSecret: {} } } } }),
  invalid("spec.env setting the bucket URL of a run on a bucket", "spec.env", {
    env: [{ name: "RESUMABLE_CHECKPOINT_URL", value: "s3://other/x" }],
    checkpoint: { storage: { s3: { bucket: "b-1", prefix: "p" } } },
  }),
];
