import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { configProblems, trainingConfigSchema } from "@resumable/protocol/reference-trainer";
import type { z } from "zod";
import { API_GROUP_VERSION, DEFAULT_TRAINER_IMAGE, KIND } from "../api/group.js";
import type { TrainingRunSpec } from "../api/spec.js";
import { trainingRunSchema, type TrainingRun } from "../api/trainingrun.js";
import { findCondition } from "./conditions.js";
import type { OperatorSettings } from "./settings.js";
import type { PodRejection } from "./types.js";

/**
 * field: the offending field's path ("spec.checkpoint.claimName"), "" when the message names it.
 * reason: InvalidSpec for what the operator can tell from the run; PodRejected when the
 * apiserver refused the pod built from it (the Valid condition's reason).
 */
export type Validation =
  | { ok: true; spec: TrainingRunSpec }
  | { ok: false; field: string; message: string; reason: "InvalidSpec" | "PodRejected" };

/** Valid=False for this reason lasts until the spec changes: sending the same pod again is futile. */
export const POD_REJECTED = "PodRejected";

/**
 * The spec with defaults applied, or the first reason it can never work: schema and
 * cross-field rules (in case the object bypassed the CRD, e.g. an older CRD version) and
 * facts about the observed world no CRD can check.
 */
export function validateRun(
  run: TrainingRun,
  pvc: V1PersistentVolumeClaim | undefined,
  settings: Pick<OperatorSettings, "allowedImages">,
  podRejection?: PodRejection,
): Validation {
  const parsed = trainingRunSchema.safeParse({ ...run, apiVersion: API_GROUP_VERSION, kind: KIND });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, field: fieldName(issue?.path ?? []), message: issue?.message ?? "invalid", reason: "InvalidSpec" };
  }
  if (podRejection !== undefined) return rejected(podRejection);
  const remembered = findCondition(run.status?.conditions, "Valid");
  if (remembered?.reason === POD_REJECTED && remembered.status === "False" && remembered.observedGeneration === run.metadata.generation) {
    return { ok: false, field: "", message: remembered.message, reason: "PodRejected" };
  }
  const spec = parsed.data.spec;
  const allowed = settings.allowedImages;
  if (allowed.length > 0 && !allowed.some((prefix) => spec.image.startsWith(prefix))) {
    return {
      ok: false,
      field: "spec.image",
      message: `${spec.image} is not allowed here: the operator's allowedImages admits only images starting with ${allowed.join(", ")}`,
      reason: "InvalidSpec",
    };
  }
  const modes = pvc?.spec?.accessModes ?? [];
  if (spec.checkpoint.claimName !== undefined && modes.length > 0 && modes.every((m) => m === "ReadOnlyMany")) {
    return {
      ok: false,
      field: "spec.checkpoint.claimName",
      message: `PersistentVolumeClaim ${spec.checkpoint.claimName} is ReadOnlyMany; the trainer must write checkpoints`,
      reason: "InvalidSpec",
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
  return { ok: false, field: "", message: configProblems(parsed.error.issues, "spec.training").join("; "), reason: "InvalidSpec" };
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

/** Where each pod field the apiserver may refuse comes from in the run (pod-template.ts). */
const RUN_FIELD_OF_POD_FIELD: [RegExp, string][] = [
  [/^spec\.nodeSelector/, "spec.scheduling.nodeSelector"],
  [/^spec\.affinity/, "spec.scheduling.affinity"],
  [/^spec\.tolerations/, "spec.scheduling.tolerations"],
  [/^spec\.priorityClassName/, "spec.scheduling.priorityClassName"],
  [/^spec\.(containers\[0\]\.)?securityContext/, "spec.securityContext"],
  [/^spec\.containers\[0\]\.resources/, "spec.resources"],
  [/^spec\.containers\[0\]\.env/, "spec.env"],
  [/^spec\.containers\[0\]\.image/, "spec.image"],
  [/^spec\.containers\[0\]\.command/, "spec.command"],
  [/^spec\.containers\[0\]\.args/, "spec.args"],
  [/^spec\.containers\[0\]\.volumeMounts/, "spec.checkpoint.mountPath"],
];

/** The run's field behind the first cause, and the apiserver's own message (which names the pod's field). */
function rejected(rejection: PodRejection): Validation {
  const podField = rejection.causes[0]?.field ?? "";
  const runField = RUN_FIELD_OF_POD_FIELD.find(([pattern]) => pattern.test(podField))?.[1];
  return {
    ok: false,
    field: runField ?? "",
    message: `the apiserver refused the trainer pod built from it: ${rejection.message}`,
    reason: "PodRejected",
  };
}
