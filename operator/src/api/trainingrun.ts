import type { V1ObjectMeta } from "@kubernetes/client-node";
import { z } from "zod";
import { API_GROUP_VERSION, KIND } from "./group.js";
import { withRules } from "./rules.js";
import { trainingRunSpecSchema, type TrainingRunSpecInput } from "./spec.js";
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
  ],
);
