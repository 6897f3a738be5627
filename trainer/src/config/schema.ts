import { createHash } from "node:crypto";
import type { TrainingConfig } from "@resumable/protocol/reference-trainer";
import { canonicalJson } from "../canonical-json.js";

// The schema lives in the protocol package, so the operator can validate spec.training
// without TensorFlow.js; the trainer keeps what only it needs (hashing, shape fields).
export { limits, mnistExamples, trainingConfigSchema, type TrainingConfig } from "@resumable/protocol/reference-trainer";

/**
 * Fields that change tensor shapes or the training data. A checkpoint written under other
 * values cannot be loaded: resuming would fail or silently train something else.
 */
export const shapeFields = ["model", "hiddenUnits", "dataset", "syntheticExamples", "optimizer"] as const;

export function configHash(config: TrainingConfig): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
