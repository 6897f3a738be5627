// spec.checkpoint: where a run keeps its checkpoints, a PVC (an existing claimName, or a volume
// the operator creates) or a bucket (storage.s3). The bucket's name, prefix and endpoint
// rules are the protocol's (BUCKET_NAME, OBJECT_PREFIX, ENDPOINT): the trainer decodes
// RESUMABLE_CHECKPOINT_URL against the same ones.
import { BUCKET_NAME, ENDPOINT, OBJECT_PREFIX } from "@resumable/protocol";
import { z } from "zod";
import { objectName, quantity } from "./kube-values.js";
import { withRules } from "./rules.js";

/** Where the trainer finds its checkpoint directory when the spec does not say. */
export const DEFAULT_MOUNT_PATH = "/checkpoints";

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

/** A pattern as a CEL string literal: the patterns hold no quote or backslash to escape. */
const celString = (text: string) => `'${text}'`;

const bucketName = withRules(
  z.string().min(BUCKET_NAME.minLength).max(BUCKET_NAME.maxLength).regex(new RegExp(BUCKET_NAME.pattern), BUCKET_NAME.patternMessage),
  [
    {
      rule: `!self.contains(${celString(BUCKET_NAME.adjacentPeriods)})`,
      message: BUCKET_NAME.adjacentPeriodsMessage,
      field: "",
      holds: (b) => !b.includes(BUCKET_NAME.adjacentPeriods),
    },
    {
      rule: `!self.matches(${celString(BUCKET_NAME.ipAddressPattern)})`,
      message: BUCKET_NAME.ipAddressMessage,
      field: "",
      holds: (b) => !new RegExp(BUCKET_NAME.ipAddressPattern).test(b),
    },
  ],
);

/** A run names a prefix of its own: the bucket's root ("") is for one-run trainers outside the operator. */
const objectPrefix = withRules(
  z.string().min(1).max(OBJECT_PREFIX.maxLength).regex(new RegExp(OBJECT_PREFIX.leadingSlashPattern), OBJECT_PREFIX.leadingSlashMessage),
  [
    {
      rule: `!self.matches(${celString(OBJECT_PREFIX.dotSegmentPattern)})`,
      message: OBJECT_PREFIX.dotSegmentMessage,
      field: "",
      holds: (p) => !new RegExp(OBJECT_PREFIX.dotSegmentPattern).test(p),
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
      .max(ENDPOINT.maxLength)
      .regex(new RegExp(ENDPOINT.pattern), ENDPOINT.message)
      .optional()
      .describe("The store's endpoint (https://storage.googleapis.com, http://minio.minio:9000, ...); unset: AWS S3."),
    region: z.string().min(1).max(64).optional().describe("The bucket's region; unset: the trainer's AWS_REGION, else us-east-1."),
    credentialsSecret: credentialsSecret.optional(),
  })
  .describe("Checkpoints in an S3-compatible object store: no PVC, so the next attempt may run in any zone.");

const storage = z
  .object({ s3: s3StorageSchema.optional() })
  .describe("Where checkpoints are kept other than a PVC; unset: the PVC of claimName or volume.");

export const checkpointSchema = withRules(
  z.object({
    storage: storage.optional(),
    claimName: objectName.optional().describe("An existing PVC to keep checkpoints on; the operator never deletes it."),
    volume: volumeTemplateSchema.optional(),
    mountPath: z.string().regex(/^\//).default(DEFAULT_MOUNT_PATH).describe("Where the trainer finds its checkpoint directory."),
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
