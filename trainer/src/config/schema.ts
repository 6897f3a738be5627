import { createHash } from "node:crypto";
import type { TrainingConfig } from "@resumable/protocol/reference-trainer";

// The schema lives in the protocol package, so the operator can validate spec.training
// without TensorFlow.js; the trainer keeps what only it needs (hashing, shape fields).
export { limits, mnistExamples, trainingConfigSchema, type TrainingConfig } from "@resumable/protocol/reference-trainer";

/**
 * Fields that change tensor shapes or the training data. A checkpoint written under other
 * values cannot be loaded: resuming would fail or silently train something else.
 */
export const shapeFields = ["model", "hiddenUnits", "dataset", "syntheticExamples", "optimizer"] as const;

/** JSON with sorted keys, so equal configs hash equally whatever order the file used. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function configHash(config: TrainingConfig): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
