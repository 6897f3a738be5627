// status.conditions with metav1.Condition semantics.
import type { Condition } from "../api/status.js";
import { toTimestamp } from "./time.js";

export type ConditionUpdate = Pick<Condition, "type" | "status" | "reason" | "message">;

/**
 * metav1.Condition semantics: lastTransitionTime moves only when status flips; reason,
 * message and observedGeneration always follow the latest pass. Returns a new array.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
  observedGeneration?: number,
): Condition[] {
  const existing = conditions?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : toTimestamp(now),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  const others = (conditions ?? []).filter((c) => c.type !== update.type);
  return [...others, next].sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
