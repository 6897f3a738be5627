import { GANG_ENV_NAMES, OPERATOR_ENV_NAMES, OPERATOR_S3_ENV_NAMES } from "@resumable/protocol";
import { z } from "zod";
import { checkpointSchema } from "./checkpoint-spec.js";
import { DEFAULT_TRAINER_IMAGE } from "./group.js";
import { passThrough, quantity } from "./kube-values.js";
import { withRules } from "./rules.js";
import { schedulingSchema } from "./scheduling-spec.js";

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

const preemption = z.object({
  gracePeriodSeconds: z
    .int()
    .min(1)
    .max(3600)
    .default(25)
    .describe("SIGTERM to SIGKILL (the pod's terminationGracePeriodSeconds); 25 fits inside GKE spot's 30 s notice."),
  maxPreemptions: z.int().nonnegative().optional().describe("Preemptions after which the run fails; unset: unlimited. Kueue's quota preemptions (QuotaPreempted) do not count."),
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

/** With workers > 1 the operator sets these too, per rank (GANG_ENV_NAMES). */
const gangEnvNames: readonly string[] = GANG_ENV_NAMES;

/**
 * The largest gang. Every rank is kept in status.attempts[].ranks for each attempt of the
 * history, and every rank's address rides in one annotation on every pod: 64 keeps both
 * far below the apiserver's object and annotation limits, and covers the 8 to 64 workers of
 * data-parallel jobs on spot today. Larger gangs want a different design (groups of rings).
 */
export const MAX_WORKERS = 64;

export const trainingRunSpecSchema = withRules(z.object({
  workers: z
    .int()
    .min(1)
    .max(MAX_WORKERS)
    .default(1)
    .describe(`Pods per attempt (ranks) that train data-parallel and checkpoint, stop and restart as one gang; 1 is a single pod. At most ${MAX_WORKERS}: each rank is recorded in status.attempts and its address in an annotation on every pod.`),
  image: z.string().min(1).default(DEFAULT_TRAINER_IMAGE).describe("The trainer image; it must follow the trainer protocol (docs/trainer-protocol.md)."),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: env.optional(),
  resources: resources.optional(),
  securityContext: securityContext.optional(),
  training: passThrough.describe("The trainer's config, handed over as RESUMABLE_CONFIG JSON; the trainer validates it."),
  checkpoint: checkpointSchema.prefault({}),
  preemption: preemption.prefault({}),
  failurePolicy: failurePolicy.prefault({}),
  scheduling: schedulingSchema.prefault({}),
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
  {
    rule: `!has(self.workers) || self.workers <= 1 || !has(self.env) || self.env.all(e, !(e.name in ${JSON.stringify(gangEnvNames).replaceAll('"', "'")}))`,
    message: `must not set ${gangEnvNames.join(", ")} with workers > 1: the operator sets them for each rank of the gang`,
    field: ".env",
    holds: (spec) => spec.workers <= 1 || (spec.env ?? []).every((v) => !gangEnvNames.includes(v.name)),
  },
]);

/** A spec as written by a user (defaults not applied). */
export type TrainingRunSpecInput = z.input<typeof trainingRunSpecSchema>;
/** A spec with every default applied. */
export type TrainingRunSpec = z.output<typeof trainingRunSpecSchema>;
export type CheckpointSpec = TrainingRunSpec["checkpoint"];
export type S3StorageSpec = NonNullable<NonNullable<CheckpointSpec["storage"]>["s3"]>;
export type SchedulingSpec = TrainingRunSpec["scheduling"];
export type FallbackSpec = NonNullable<SchedulingSpec["fallback"]>;
export type SecurityContextSpec = NonNullable<TrainingRunSpec["securityContext"]>;
