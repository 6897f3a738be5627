import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { z } from "zod";
import { API_GROUP_VERSION, KIND } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import { trainingRunSchema, type TrainingRun } from "../api/trainingrun.js";
import type { OperatorSettings } from "./settings.js";

/** field: the offending field's path ("spec.checkpoint.claimName"), "" when the message names it. */
export type Validation = { ok: true; spec: TrainingRunSpec } | { ok: false; field: string; message: string };

/**
 * The spec with defaults applied, or the first reason it can never work: schema and
 * cross-field rules (in case the object bypassed the CRD, e.g. an older CRD version) and
 * facts about the observed world no CRD can check.
 */
export function validateRun(
  run: TrainingRun,
  pvc: V1PersistentVolumeClaim | undefined,
  settings: Pick<OperatorSettings, "allowedImages">,
): Validation {
  const parsed = trainingRunSchema.safeParse({ ...run, apiVersion: API_GROUP_VERSION, kind: KIND });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, field: fieldName(issue?.path ?? []), message: issue?.message ?? "invalid" };
  }
  const spec = parsed.data.spec;
  const allowed = settings.allowedImages;
  if (allowed.length > 0 && !allowed.some((prefix) => spec.image.startsWith(prefix))) {
    return {
      ok: false,
      field: "spec.image",
      message: `${spec.image} is not allowed here: the operator's allowedImages admits only images starting with ${allowed.join(", ")}`,
    };
  }
  const modes = pvc?.spec?.accessModes ?? [];
  if (spec.checkpoint.claimName !== undefined && modes.length > 0 && modes.every((m) => m === "ReadOnlyMany")) {
    return {
      ok: false,
      field: "spec.checkpoint.claimName",
      message: `PersistentVolumeClaim ${spec.checkpoint.claimName} is ReadOnlyMany; the trainer must write checkpoints`,
    };
  }
  return { ok: true, spec };
}

function fieldName(path: z.core.$ZodIssue["path"]): string {
  return path.reduce<string>(
    (name, part) => (typeof part === "number" ? `${name}[${part}]` : name === "" ? String(part) : `${name}.${String(part)}`),
    "",
  );
}
