import { OPERATOR_ENV_NAMES, OPERATOR_S3_ENV_NAMES } from "@resumable/protocol";
import { z } from "zod";
import { DEFAULT_TRAINER_IMAGE } from "./group.js";
import { withRules } from "./rules.js";

/** Kubernetes' resource.Quantity syntax (apimachinery's quantity regexp). */
const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

const quantity = z
  .union([z.int().nonnegative(), z.string().regex(QUANTITY)])
  .meta({ "x-kubernetes-int-or-string": true });

/**
 * Names the apiserver would refuse in the pod or PVC the operator creates; checked here,
 * where the user gets the error, rather than at pod creation, where only the operator sees it.
 */
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a DNS subdomain name");

/** Open-ended Kubernetes structures the operator passes through untouched. */
const passThrough = z.record(z.string(), z.unknown());

/**
 * The operator sets these on every trainer (docs/trainer-protocol.md): a user value would
 * silently break the protocol. RESUMABLE_ALLOW_FRESH_START is not among them: the operator
 * sets it only for spec.checkpoint.allowFreshStart, and a user value means the same thing.
 */
const operatorEnvNames: readonly string[] = OPERATOR_ENV_NAMES;

const envVar = z.object({
  name: z.string().max(256).regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be a C identifier (letters, digits, -, ., _)"),
  value: z.string().optional(),
  valueFrom: passThrough.optional(),
});

// Bounded so the apiserver's CEL cost estimate for the rule below stays within its budget.
const env = withRules(z.array(envVar).max(256), [
  {
    rule: `self.all(e, !(e.name in ${JSON.stringify(operatorEnvNames).replaceAll('"', "'")}))`,
    message: `must not set ${operatorEnvNames.join(", ")}: the operator sets them for the trainer protocol`,
    field: "",
    holds: (vars) => vars.every((v) => !operatorEnvNames.includes(v.name)),
  },
]);

// Descriptions end up in the CRD: `kubectl explain trainingrun.spec` shows them.

const resources = z
  .object({
    limits: z.record(z.string(), quantity).optional(),
    requests: z.record(z.string(), quantity).optional(),
  })
  .describe("The trainer container's resources, e.g. limits: {nvidia.com/gpu: 1}.");

export const volumeTemplateSchema = z
  .object({
    size: quantity.default("1Gi"),
    storageClassName: objectName.optional().describe("Unset: the cluster's default StorageClass."),
    accessModes: z
      .array(z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"]))
      .min(1)
      .default(["ReadWriteOnce"]),
  })
  .describe("The PVC the operator creates as <run>-checkpoints; the default when claimName is unset.");

/**
 * A bucket name as S3 allows it (3-63 lower-case letters, digits, "." and "-", alphanumeric at
 * both ends) and GCS too ("_"); the trainer reads the same set from RESUMABLE_CHECKPOINT_URL.
 */
const bucketName = withRules(
  z
    .string()
    .min(3)
    .max(63)
    .regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, "must be a bucket name: lower-case letters, digits, '.', '-' or '_', starting and ending with a letter or digit"),
  [
    {
      rule: "!self.contains('..')",
      message: "must be a bucket name: no two adjacent periods",
      field: "",
      holds: (b) => !b.includes(".."),
    },
    {
      rule: "!self.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",
      message: "must be a bucket name, not an IP address",
      field: "",
      holds: (b) => !/^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/.test(b),
    },
  ],
);

/** Keys under the bucket; the trainer refuses "." and ".." segments, S3 keys are at most 1024 bytes. */
const objectPrefix = withRules(
  z.string().min(1).max(512).regex(/^[^/]/, "must not start with '/': it is a key prefix inside the bucket"),
  [
    {
      rule: "!self.matches('(^|/)[.][.]?(/|$)')",
      message: "must not contain '.' or '..' segments",
      field: "",
      holds: (p) => !/(^|\/)[.][.]?(\/|$)/.test(p),
    },
  ],
);

const credentialsSecret = z
  .object({
    name: objectName.describe("A Secret in the run's namespace."),
    accessKeyIdKey: z.string().min(1).max(253).optional().describe("The Secret's key holding the access key id; default AWS_ACCESS_KEY_ID."),
    secretAccessKeyKey: z.string().min(1).max(253).optional().describe("The Secret's key holding the secret access key; default AWS_SECRET_ACCESS_KEY."),
  })
  .describe(
    "An access key (or GCS HMAC key) for the bucket, mounted read-only into the trainer. Unset: no secret; the trainer's service account gives access (IRSA, EKS Pod Identity) through the AWS SDK's default chain.",
  );

export const s3StorageSchema = z
  .object({
    bucket: bucketName.describe("The bucket (it must exist; the operator never creates or empties it)."),
    prefix: objectPrefix.describe("Where under the bucket this run's checkpoints go (a key prefix, no leading '/'); one prefix per run."),
    endpoint: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^/\s]+\S*$/, "must be an http:// or https:// URL")
      .optional()
      .describe("The store's endpoint (https://storage.googleapis.com, http://minio.minio:9000, ...); unset: AWS S3."),
    region: z.string().min(1).max(64).optional().describe("The bucket's region; unset: the trainer's AWS_REGION, else us-east-1."),
    credentialsSecret: credentialsSecret.optional(),
  })
  .describe("Checkpoints in an S3-compatible object store: no PVC, so the next attempt may run in any zone.");

const storage = z
  .object({ s3: s3StorageSchema.optional() })
  .describe("Where checkpoints are kept other than a PVC; unset: the PVC of claimName or volume.");

const checkpoint = withRules(
  z.object({
    storage: storage.optional(),
    claimName: objectName.optional().describe("An existing PVC to keep checkpoints on; the operator never deletes it."),
    volume: volumeTemplateSchema.optional(),
    mountPath: z.string().regex(/^\//).default("/checkpoints").describe("Where the trainer finds its checkpoint directory."),
    retainOnDelete: z
      .boolean()
      .default(true)
      .describe("false: the created PVC is owned by the run and deleted with it."),
    allowFreshStart: z
      .boolean()
      .default(false)
      .describe("true: when checkpoints exist but none loads, the trainer starts from step 0; false: the run fails (CheckpointsUnusable)."),
  }),
  [
    {
      rule: "!(has(self.claimName) && has(self.volume))",
      message: "set claimName (an existing PVC) or volume (a PVC the operator creates), not both",
      field: ".claimName",
      holds: (c) => !(c.claimName !== undefined && c.volume !== undefined),
    },
    {
      // has() guards: the apiserver checks rules against the bare `default: {}` as well.
      rule: "!has(self.claimName) || !has(self.retainOnDelete) || self.retainOnDelete",
      message: "retainOnDelete: false needs a PVC the operator creates; an existing claimName is never deleted",
      field: ".retainOnDelete",
      holds: (c) => c.claimName === undefined || c.retainOnDelete,
    },
    {
      rule: "!has(self.storage) || !has(self.storage.s3) || !(has(self.claimName) || has(self.volume))",
      message: "set storage.s3 (an object store) or claimName/volume (a PVC), not both",
      field: ".storage.s3",
      holds: (c) => c.storage?.s3 === undefined || (c.claimName === undefined && c.volume === undefined),
    },
    {
      rule: "!has(self.storage) || !has(self.storage.s3) || !has(self.retainOnDelete) || self.retainOnDelete",
      message: "retainOnDelete: false deletes the PVC the operator creates; with storage.s3 there is none, and objects in the bucket are never deleted",
      field: ".retainOnDelete",
      holds: (c) => c.storage?.s3 === undefined || c.retainOnDelete,
    },
  ],
).describe("Where checkpoints live; by default a PVC per run from the default StorageClass, or a bucket (storage.s3).");

const preemption = z.object({
  gracePeriodSeconds: z
    .int()
    .min(1)
    .max(3600)
    .default(25)
    .describe("SIGTERM to SIGKILL (the pod's terminationGracePeriodSeconds); 25 fits inside GKE spot's 30 s notice."),
  maxPreemptions: z.int().nonnegative().optional().describe("Preemptions after which the run fails; unset: unlimited."),
});

const backoff = withRules(
  z.object({
    initialSeconds: z.int().min(1).default(10),
    maxSeconds: z.int().min(1).default(300),
  }),
  [
    {
      rule: "!has(self.initialSeconds) || !has(self.maxSeconds) || self.initialSeconds <= self.maxSeconds",
      message: "initialSeconds must not exceed maxSeconds",
      field: ".initialSeconds",
      holds: (b) => b.initialSeconds <= b.maxSeconds,
    },
  ],
).describe("The wait before a retry doubles from initialSeconds after each failure, up to maxSeconds.");

const failurePolicy = z
  .object({
    maxRetries: z.int().nonnegative().default(3),
    backoff: backoff.prefault({}),
  })
  .describe("Failures (crashes, OOM, a pod that cannot start) are retried; preemptions never count here.");

const toleration = withRules(
  z.object({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
  }),
  // The apiserver's own pod validation, which would otherwise refuse every attempt's pod.
  [
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: "value must be empty when operator is Exists",
      field: ".value",
      holds: (t) => t.operator !== "Exists" || !t.value,
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: "tolerationSeconds needs effect NoExecute",
      field: ".tolerationSeconds",
      holds: (t) => t.tolerationSeconds === undefined || t.effect === "NoExecute",
    },
    {
      rule: "has(self.key) && self.key != '' || has(self.operator) && self.operator == 'Exists'",
      message: "an empty key needs operator Exists",
      field: ".key",
      holds: (t) => Boolean(t.key) || t.operator === "Exists",
    },
  ],
);

/** Label syntax (apimachinery's IsQualifiedName / IsValidLabelValue), for JS and the CRD's pattern alike. */
const LABEL_NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const LABEL_KEY = `^(${DNS_LABEL}([.]${DNS_LABEL})*/)?${LABEL_NAME}$`;
const LABEL_VALUE = `^(${LABEL_NAME})?$`;

/**
 * Label keys and values, as the apiserver's pod validation would refuse them for every
 * attempt. Values are a schema pattern the CRD checks; keys only zod can check (a structural
 * schema cannot constrain map keys, and a CEL regex over unbounded keys exceeds the
 * apiserver's cost budget), so a bad key is Valid=False before any pod, not an apiserver error.
 */
const nodeSelector = z
  .record(z.string(), z.string().max(63).regex(new RegExp(LABEL_VALUE), "must be a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)"))
  .superRefine((selector, ctx) => {
    const bad = Object.keys(selector).find((k) => k.length > 317 || !new RegExp(LABEL_KEY).test(k));
    if (bad !== undefined) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(bad)} is not a label key ([prefix/]name, name at most 63 of A-Z a-z 0-9 - _ .)` });
    }
  });

/**
 * The capacity policy of a spot run: when the next attempt goes to on-demand nodes, and
 * when it comes back. A move back to spot is planned (at a checkpoint boundary, graceful)
 * and never counts as a preemption.
 */
const fallback = withRules(
  z.object({
    afterPreemptions: z
      .int()
      .min(1)
      .optional()
      .describe("After this many preemptions on spot (counted since the run last came to spot), the next attempt goes to on-demand."),
    afterPendingSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("When the next attempt's pod has been unschedulable on spot (PodScheduled=False/Unschedulable) this long, it is recreated on on-demand."),
    returnToSpotAfterSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("After this long on on-demand, the run moves back to spot at its next checkpoint; unset: it stays on on-demand."),
    onDemandNodeSelector: nodeSelector
      .optional()
      .describe("Labels of the on-demand nodes; unset: any one of the clouds' on-demand labels (GKE, Karpenter, EKS, AKS)."),
    spotNodeSelector: nodeSelector
      .optional()
      .describe("Labels of the spot nodes, for a spot pool the clouds' labels do not mark; unset: any one of the clouds' spot labels (GKE, Karpenter, EKS, AKS)."),
    spotTolerations: z
      .array(toleration)
      .max(16)
      .optional()
      .describe("The taints of the spot pool spotNodeSelector names, tolerated on spot only; they replace the clouds' spot tolerations."),
  }),
  [
    {
      rule: "has(self.afterPreemptions) || has(self.afterPendingSeconds)",
      message: "set afterPreemptions or afterPendingSeconds (or both): without either the run never falls back",
      field: "",
      holds: (f) => f.afterPreemptions !== undefined || f.afterPendingSeconds !== undefined,
    },
    {
      rule: "!has(self.spotTolerations) || has(self.spotNodeSelector)",
      message: "spotTolerations needs spotNodeSelector: without it the spot pool is the clouds' own, whose taints are tolerated already",
      field: ".spotTolerations",
      holds: (f) => f.spotTolerations === undefined || f.spotNodeSelector !== undefined,
    },
  ],
).describe("Fall back from spot to on-demand nodes when spot is reclaimed too often or cannot be had, and return later.");

const scheduling = withRules(
  z.object({
    nodeSelector: nodeSelector.optional(),
    tolerations: z.array(toleration).max(64).optional(),
    affinity: passThrough.optional().describe("A core/v1 Affinity, passed to the pod as is."),
    priorityClassName: objectName.optional(),
    spot: z
      .boolean()
      .default(false)
      .describe("Require a spot node (GKE spot or preemptible, EKS with Karpenter or managed node groups, AKS) and tolerate its taints."),
    fallback: fallback.optional(),
  }),
  [
    {
      rule: "!has(self.fallback) || (has(self.spot) && self.spot)",
      message: "fallback needs spot: true (it moves a spot run to on-demand and back)",
      field: ".fallback",
      holds: (s) => s.fallback === undefined || s.spot,
    },
  ],
);

/** A Linux uid or gid as the apiserver accepts it (0 to 2^31-1). */
const linuxId = z.int().min(0).max(2147483647);
/** A Linux capability name as the container runtimes read it (CAP_ prefix optional). */
const capability = z.string().regex(/^[A-Z_]{1,64}$/, "must be a capability name such as NET_BIND_SERVICE or ALL");

const seccompProfile = withRules(
  z.object({
    type: z.enum(["RuntimeDefault", "Localhost", "Unconfined"]),
    localhostProfile: z.string().min(1).optional().describe("The profile's path under the kubelet's seccomp directory; only with type Localhost."),
  }),
  // The apiserver's own pod validation, which would otherwise refuse every attempt's pod.
  [
    {
      rule: "self.type == 'Localhost' ? has(self.localhostProfile) : !has(self.localhostProfile)",
      message: "localhostProfile is required with type Localhost and forbidden otherwise",
      field: ".localhostProfile",
      holds: (p) => (p.type === "Localhost") === (p.localhostProfile !== undefined),
    },
  ],
);

/**
 * Overrides of the trainer's hardened defaults, field by field; unset fields keep the default.
 * The pod-level fields (fsGroup, fsGroupChangePolicy, supplementalGroups) go to the pod's
 * securityContext, the rest to the trainer container's.
 */
const securityContext = withRules(
  z.object({
    runAsNonRoot: z.boolean().optional().describe("Default true: the kubelet refuses to start a trainer that would run as uid 0."),
    runAsUser: linuxId.optional().describe("Default 1000 (the trainer image's `node` user)."),
    runAsGroup: linuxId.optional().describe("Default 1000."),
    fsGroup: linuxId.optional().describe("Default 1000: the checkpoint volume is made writable by this group."),
    fsGroupChangePolicy: z.enum(["OnRootMismatch", "Always"]).optional().describe("Default OnRootMismatch: no recursive chown of a large checkpoint directory on every attempt."),
    supplementalGroups: z.array(linuxId).max(32).optional().describe("Extra groups for the trainer's processes; default none."),
    readOnlyRootFilesystem: z.boolean().optional().describe("Default true; the trainer gets a writable emptyDir at /tmp either way."),
    allowPrivilegeEscalation: z.boolean().optional().describe("Default false (no setuid gains)."),
    capabilities: z
      .object({ add: z.array(capability).max(64).optional(), drop: z.array(capability).max(64).optional() })
      .optional()
      .describe("Default drop: [ALL], add none."),
    seccompProfile: seccompProfile.optional().describe("Default type RuntimeDefault."),
  }),
  [
    {
      // The kubelet checks this only when it starts the container: a pod that never runs.
      rule: "!has(self.runAsUser) || self.runAsUser != 0 || (has(self.runAsNonRoot) && !self.runAsNonRoot)",
      message: "runAsUser 0 needs runAsNonRoot: false (the default runAsNonRoot: true would refuse to start it)",
      field: ".runAsUser",
      holds: (c) => c.runAsUser !== 0 || c.runAsNonRoot === false,
    },
    {
      rule: "!has(self.capabilities) || !has(self.capabilities.add) || !self.capabilities.add.exists(c, c == 'SYS_ADMIN' || c == 'CAP_SYS_ADMIN') || (has(self.allowPrivilegeEscalation) && self.allowPrivilegeEscalation)",
      message: "adding SYS_ADMIN needs allowPrivilegeEscalation: true (the apiserver refuses the combination)",
      field: ".capabilities",
      holds: (c) => !(c.capabilities?.add ?? []).some((x) => x === "SYS_ADMIN" || x === "CAP_SYS_ADMIN") || c.allowPrivilegeEscalation === true,
    },
  ],
).describe(
  "The trainer runs as uid/gid 1000, non-root, with a read-only root filesystem (a writable emptyDir at /tmp), no privilege escalation, all capabilities dropped and the RuntimeDefault seccomp profile. Set a field here to override that one default. Overrides below the restricted Pod Security Standard (uid 0, runAsNonRoot false, privilege escalation, capabilities other than NET_BIND_SERVICE, a drop list without ALL, Unconfined seccomp) are refused (Valid=False, SecurityContextNotAllowed) unless the operator allows them (chart value allowRelaxedSecurityContext).",
);

/** With storage.s3 the operator sets these too (OPERATOR_S3_ENV_NAMES). */
const s3EnvNames: readonly string[] = OPERATOR_S3_ENV_NAMES;

export const trainingRunSpecSchema = withRules(z.object({
  image: z.string().min(1).default(DEFAULT_TRAINER_IMAGE).describe("The trainer image; it must follow the trainer protocol (docs/trainer-protocol.md)."),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: env.optional(),
  resources: resources.optional(),
  securityContext: securityContext.optional(),
  training: passThrough.describe("The trainer's config, handed over as RESUMABLE_CONFIG JSON; the trainer validates it."),
  checkpoint: checkpoint.prefault({}),
  preemption: preemption.prefault({}),
  failurePolicy: failurePolicy.prefault({}),
  scheduling: scheduling.prefault({}),
  suspend: z
    .boolean()
    .default(false)
    .describe("true: stop the trainer gracefully (it checkpoints) and start none until false again."),
}), [
  {
    rule: `!has(self.checkpoint) || !has(self.checkpoint.storage) || !has(self.checkpoint.storage.s3) || !has(self.env) || self.env.all(e, !(e.name in ${JSON.stringify(s3EnvNames).replaceAll('"', "'")}))`,
    message: `must not set ${s3EnvNames.join(", ")} with checkpoint.storage.s3: the operator sets them from it`,
    field: ".env",
    holds: (spec) => spec.checkpoint.storage?.s3 === undefined || (spec.env ?? []).every((v) => !s3EnvNames.includes(v.name)),
  },
]);

/** A spec as written by a user (defaults not applied). */
export type TrainingRunSpecInput = z.input<typeof trainingRunSpecSchema>;
/** A spec with every default applied. */
export type TrainingRunSpec = z.output<typeof trainingRunSpecSchema>;
export type CheckpointSpec = TrainingRunSpec["checkpoint"];
export type S3StorageSpec = z.output<typeof s3StorageSchema>;
export type SchedulingSpec = TrainingRunSpec["scheduling"];
export type FallbackSpec = NonNullable<SchedulingSpec["fallback"]>;
export type SecurityContextSpec = NonNullable<TrainingRunSpec["securityContext"]>;
