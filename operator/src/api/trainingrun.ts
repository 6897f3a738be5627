import type { V1ObjectMeta } from "@kubernetes/client-node";
import { z } from "zod";
import { API_GROUP_VERSION, KIND } from "./group.js";
import { withRules } from "./rules.js";
import { MAX_WORKERS, trainingRunSpecSchema, type TrainingRunSpecInput } from "./spec.js";
import type { TrainingRunStatus } from "./status.js";

/**
 * A TrainingRun as read from the apiserver. The spec is typed as written, not as parsed:
 * the operator validates it on every pass (trainingRunSchema) instead of trusting it.
 */
export interface TrainingRun {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: TrainingRunSpecInput;
  status?: TrainingRunStatus;
}

/** The longest run name: it becomes the value of the resumable.dev/run label. */
const MAX_RUN_NAME_LENGTH = 63;

/**
 * The digits of attempt numbers a gang's pod names leave room for. A rank's pod name
 * `<run>-<attempt>-<rank>` is also its hostname (rank 0's is MASTER_ADDR), which is a DNS
 * label of at most 63 characters; past attempt 99999 the ranks merely lose their hostnames.
 */
const GANG_ATTEMPT_DIGITS = 5;

/** The longest run name whose gang of `workers` ranks has pod names that are hostnames. */
export function maxGangRunNameLength(workers: number): number {
  return 63 - "-".length * 2 - GANG_ATTEMPT_DIGITS - String(workers - 1).length;
}

/** A whole TrainingRun object (what `kubectl apply` sends), for validation; status is not checked. */
export const trainingRunSchema = withRules(
  z.object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(KIND),
    metadata: z.looseObject({ name: z.string().min(1) }),
    spec: trainingRunSpecSchema,
  }),
  [
    {
      rule: `self.metadata.name.size() <= ${MAX_RUN_NAME_LENGTH}`,
      message: `metadata.name must be at most ${MAX_RUN_NAME_LENGTH} characters: it is used as a label value`,
      // Not ".metadata.name": a fieldPath must exist in the schema, and metadata's is opaque.
      field: "",
      holds: (run) => run.metadata.name.length <= MAX_RUN_NAME_LENGTH,
    },
    {
      // 63 - 2 - GANG_ATTEMPT_DIGITS - digits(workers - 1), spelled out for CEL.
      rule: `!has(self.spec.workers) || self.spec.workers <= 1 || self.metadata.name.size() <= ${63 - 2 - GANG_ATTEMPT_DIGITS} - (self.spec.workers > 10 ? 2 : 1)`,
      message: `metadata.name is too long for spec.workers: each rank's pod <name>-<attempt>-<rank> is a hostname of at most 63 characters, which leaves ${maxGangRunNameLength(2)} characters for the name with up to 10 workers and ${maxGangRunNameLength(MAX_WORKERS)} with more`,
      field: "",
      holds: (run) => run.spec.workers <= 1 || run.metadata.name.length <= maxGangRunNameLength(run.spec.workers),
    },
  ],
);
