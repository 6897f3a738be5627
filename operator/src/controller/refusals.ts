// Writes the apiserver refused, and what the controller remembers of a refused pod create
// until the next pass of the run decides knowing it. A pass decides once: the refusal is
// learned while its actions are applied, too late for its own decision, so it is kept per
// run (as the controller keeps the version its last status write replaced) and read by the
// run's next pass, which is queued at once.
import { classifyRefusal, type Refusal } from "@resumable/kube-runtime";
import type { TrainingRun } from "../api/trainingrun.js";
import type { Action, EventSpec, Observed } from "../model/types.js";

/** The Job controller's reason for a refused write; a refusal with a kind of its own gets its own. */
const REFUSAL_REASONS: Record<Refusal["kind"], string | undefined> = {
  quota: "QuotaExceeded",
  admission: "AdmissionRefused",
  forbidden: "Forbidden",
  invalid: undefined,
  other: undefined,
};

/**
 * The Warning event for a write the apiserver refused for a reason that may go away (quota,
 * admission, RBAC), as the Job controller's FailedCreate: otherwise only the operator's log
 * would know why nothing happens. Undefined for an invalid pod, which the Valid condition
 * and its event tell, once.
 */
export function refusalEvent(action: Action, refusal: Refusal, status: number | undefined): EventSpec | undefined {
  if (refusal.kind === "invalid" && action.kind === "createPod") return undefined;
  const [failed, what] =
    action.kind === "createPod" ? ["FailedCreate", `creating pod ${action.pod.metadata?.name}`]
    : action.kind === "createPVC" ? ["FailedCreate", `creating claim ${action.pvc.metadata?.name}`]
    : action.kind === "createService" ? ["FailedCreate", `creating service ${action.service.metadata?.name}`]
    : action.kind === "annotatePod" ? ["FailedPatch", `${action.purpose} on pod ${action.name}`]
    : action.kind === "annotateClaim" ? ["FailedPatch", `${action.purpose} on claim ${action.name}`]
    : ["FailedDelete", `deleting pod ${action.name}`];
  const reason = REFUSAL_REASONS[refusal.kind] ?? failed;
  return { type: "Warning", reason, message: `Error ${what}: ${refusal.message} (HTTP ${status}; retrying)` };
}

/** What the next pass is told of a refused create: Observed's podRejection or podRefusal. */
export type Refused = Pick<Observed, "podRejection" | "podRefusal">;

/**
 * A refused create the next decision must know of: a pod the apiserver refused as invalid
 * (the run's own fields can never make a valid pod), or a create refused for a reason that
 * may pass (quota, admission, RBAC: retried with backoff, the status says why the run waits).
 */
export function refusedCreate(action: Action, err: unknown): Refused | undefined {
  if (action.kind !== "createPod" && action.kind !== "createPVC") return undefined;
  const refusal = classifyRefusal(err);
  if (refusal === undefined) return undefined;
  if (refusal.kind === "invalid") {
    return action.kind === "createPod" ? { podRejection: { message: refusal.message, causes: refusal.causes } } : undefined;
  }
  const reason = REFUSAL_REASONS[refusal.kind];
  return reason === undefined ? undefined : { podRefusal: { reason, message: refusal.message } };
}

/** Per run key, the refused create its next pass reads, for the generation it was built from. */
export class RefusalMemory {
  private readonly refused = new Map<string, { generation: number | undefined; refused: Refused }>();

  remember(key: string, run: TrainingRun, refused: Refused): void {
    this.refused.set(key, { generation: run.metadata.generation, refused });
  }

  /**
   * The refusal for `run`'s next pass, forgotten as it is read. A spec changed since builds
   * another pod: the refusal of the old one says nothing about it.
   */
  take(key: string, run: TrainingRun): Refused {
    const kept = this.refused.get(key);
    this.refused.delete(key);
    return kept !== undefined && kept.generation === run.metadata.generation ? kept.refused : {};
  }

  has(key: string): boolean {
    return this.refused.has(key);
  }

  forget(key: string): void {
    this.refused.delete(key);
  }
}
