import { canonicalJson } from "../canonical-json.js";
import { ConfigError } from "../config-error.js";
import { shapeFields, type TrainingConfig } from "./schema.js";

/**
 * Whether a checkpoint written under `saved` may continue under `current`. A change to a field
 * that alters tensor shapes or the data is refused, naming the field; any other change (a new
 * learning rate, more steps) is allowed and returned so it can be logged.
 */
export function checkResumable(saved: Record<string, unknown>, current: TrainingConfig, checkpoint: string): string[] {
  for (const field of shapeFields) {
    if (canonicalJson(saved[field]) !== canonicalJson(current[field])) {
      throw new ConfigError(
        `cannot resume ${checkpoint}: config field ${field} changed from ${canonicalJson(saved[field])} to ${canonicalJson(current[field])}; ` +
          `it changes the model's shapes or data. Use a new checkpoint directory, or restore the old value.`,
      );
    }
  }
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys].filter((k) => canonicalJson(saved[k]) !== canonicalJson((current as Record<string, unknown>)[k])).sort();
}
