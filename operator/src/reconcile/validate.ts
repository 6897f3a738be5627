import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { configProblems, trainingConfigSchema } from "@resumable/protocol/reference-trainer";
import type { z } from "zod";
import { API_GROUP_VERSION, DEFAULT_TRAINER_IMAGE, KIND } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import { trainingRunSchema, type TrainingRun } from "../api/trainingrun.js";

/** field: the offending field's path ("spec.checkpoint.claimName"), "" when the message names it. */
export type Validation = { ok: true; spec: TrainingRunSpec } | { ok: false; field: string; message: string };

/**
 * The spec with defaults applied, or the first reason it can never work: schema and
 * cross-field rules (in case the object bypassed the CRD, e.g. an older CRD version) and
 * facts about the observed world no CRD can check.
 */
export function validateRun(run: TrainingRun, pvc: V1PersistentVolumeClaim | undefined): Validation {
  const parsed = trainingRunSchema.safeParse({ ...run, apiVersion: API_GROUP_VERSION, kind: KIND });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, field: fieldName(issue?.path ?? []), message: issue?.message ?? "invalid" };
  }
  const spec = parsed.data.spec;
  const modes = pvc?.spec?.accessModes ?? [];
  if (spec.checkpoint.claimName !== undefined && modes.length > 0 && modes.every((m) => m === "ReadOnlyMany")) {
    return {
      ok: false,
      field: "spec.checkpoint.claimName",
      message: `PersistentVolumeClaim ${spec.checkpoint.claimName} is ReadOnlyMany; the trainer must write checkpoints`,
    };
  }
  const training = referenceTrainerConfig(spec);
  if (training !== undefined) return training;
  return { ok: true, spec };
}

/**
 * On the reference trainer's image, spec.training is its config: refuse a bad one now, in the
 * trainer's own words, rather than after a node was taken for an attempt that exits 2.
 */
function referenceTrainerConfig(spec: TrainingRunSpec): Validation | undefined {
  if (repository(spec.image) !== repository(DEFAULT_TRAINER_IMAGE)) return undefined;
  // `--config FILE` replaces RESUMABLE_CONFIG: spec.training is then not the config.
  if ([...(spec.command ?? []), ...(spec.args ?? [])].some((arg) => arg === "--config" || arg.startsWith("--config="))) return undefined;
  const parsed = trainingConfigSchema.safeParse(spec.training);
  if (parsed.success) return undefined;
  return { ok: false, field: "", message: configProblems(parsed.error.issues, "spec.training").join("; ") };
}

/** An image reference without tag or digest; Docker Hub's implicit registry spelled out or not. */
function repository(image: string): string {
  const name = image.split("@")[0] ?? image;
  const tag = name.lastIndexOf(":");
  const bare = tag > name.lastIndexOf("/") ? name.slice(0, tag) : name;
  return bare.replace(/^(docker\.io|index\.docker\.io)\//, "");
}

function fieldName(path: z.core.$ZodIssue["path"]): string {
  return path.reduce<string>(
    (name, part) => (typeof part === "number" ? `${name}[${part}]` : name === "" ? String(part) : `${name}.${String(part)}`),
    "",
  );
}
