// Validation: the spec, what the operator's policy admits, and what the observed world says
// about it. Each way a run can be kept from a pod has its own reason on the Valid condition,
// which this file alone writes.
import { locationName } from "@resumable/protocol";
import { configProblems, trainingConfigSchema } from "@resumable/protocol/reference-trainer";
import type { z } from "zod";
import { API_GROUP_VERSION, DEFAULT_TRAINER_IMAGE, KIND } from "../api/group.js";
import { imageAllowed, parseImage } from "../api/image.js";
import type { SecurityContextSpec, TrainingRunSpec } from "../api/spec.js";
import { trainingRunSchema, type TrainingRun } from "../api/trainingrun.js";
import type { RunLocation } from "../model/observe.js";
import { locationHolder, STORAGE_IN_USE } from "../model/storage-claims.js";
import { findCondition } from "../model/conditions.js";
import type { Observed, PodRejection } from "../model/types.js";
import type { OperatorSettings } from "../model/settings.js";
import type { Draft } from "./draft.js";

/**
 * Why a run gets no pod (the Valid condition's reason):
 * - InvalidSpec: the run itself can never work (schema, cross-field rules, the world);
 * - PodRejected: the apiserver refused the pod built from it;
 * - ImageNotAllowed, SecurityContextNotAllowed: valid, but the operator's policy refuses it;
 * - StorageInUse: valid, but another live run holds its checkpoint location; it waits.
 */
export type NotValidReason = "InvalidSpec" | "PodRejected" | "ImageNotAllowed" | "SecurityContextNotAllowed" | typeof STORAGE_IN_USE;

/** field: the offending field's path ("spec.checkpoint.claimName"), "" when the message names it. */
export type Validation =
  | { ok: true; spec: TrainingRunSpec }
  | { ok: false; field: string; message: string; reason: NotValidReason };

/** Valid=False for this reason lasts until the spec changes: sending the same pod again is futile. */
const POD_REJECTED = "PodRejected";

/** The Valid condition of the pass: the spec with defaults applied, or undefined (and why, once) when the run gets no pod. */
export function validSpec(d: Draft): TrainingRunSpec | undefined {
  const validation = validateRun(d.observed, d.settings);
  if (!validation.ok) {
    const message = validation.field === "" ? validation.message : `${validation.field}: ${validation.message}`;
    if (d.condition({ type: "Valid", status: "False", reason: validation.reason, message })) {
      d.event("Warning", validation.reason, message);
    }
    return undefined;
  }
  d.condition({ type: "Valid", status: "True", reason: "Valid", message: "the spec is valid" });
  return validation.spec;
}

/**
 * The spec with defaults applied, or the first reason it gets no pod: schema and cross-field
 * rules (in case the object bypassed the CRD, e.g. an older CRD version), the operator's
 * policy, and facts about the observed world no CRD can check.
 */
export function validateRun(
  observed: Pick<Observed, "run" | "location" | "pvc" | "podRejection" | "otherRuns">,
  settings: Pick<OperatorSettings, "allowedImages" | "allowRelaxedSecurityContext">,
): Validation {
  const { run, pvc, podRejection } = observed;
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
  if (spec.workers > 1 && !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(parsed.data.metadata.name)) {
    return {
      ok: false,
      field: "metadata.name",
      message: `${parsed.data.metadata.name} cannot name a gang (spec.workers ${spec.workers}): it must be a DNS label that starts with a letter (no dots), as it names the gang's headless Service and is part of each rank's hostname`,
      reason: "InvalidSpec",
    };
  }
  const allowed = settings.allowedImages;
  if (!imageAllowed(spec.image, allowed)) {
    const why = parseImage(spec.image) === undefined ? "is not an image reference ([host[:port]/]path[:tag][@digest], path in lower case)" : "is not allowed here";
    return {
      ok: false,
      field: "spec.image",
      message: `${spec.image} ${why}: the operator's allowedImages admits only ${allowed.join(", ")} and the repositories under them`,
      reason: "ImageNotAllowed",
    };
  }
  if (!settings.allowRelaxedSecurityContext) {
    const relaxed = belowRestricted(spec.securityContext ?? {});
    if (relaxed !== undefined) {
      return {
        ok: false,
        field: `spec.securityContext.${relaxed.field}`,
        message: `${relaxed.what} is below the restricted Pod Security Standard; this operator refuses it (its chart value allowRelaxedSecurityContext is false)`,
        reason: "SecurityContextNotAllowed",
      };
    }
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
  // Last: a run refused for any reason above holds no location against others.
  return storageInUse(run, observed.location, spec, observed.otherRuns ?? []) ?? { ok: true, spec };
}

/**
 * The first override of spec.securityContext that gives the trainer more than the restricted
 * Pod Security Standard allows (what a user who may create TrainingRuns but not pods must not
 * get through the operator). privileged, host namespaces and host paths have no field in the
 * spec at all: the schema drops them.
 */
export function belowRestricted(c: SecurityContextSpec): { field: string; what: string } | undefined {
  if (c.runAsUser === 0) return { field: "runAsUser", what: "runAsUser: 0 (root)" };
  if (c.runAsNonRoot === false) return { field: "runAsNonRoot", what: "runAsNonRoot: false" };
  if (c.allowPrivilegeEscalation === true) return { field: "allowPrivilegeEscalation", what: "allowPrivilegeEscalation: true" };
  // The restricted profile admits NET_BIND_SERVICE alone, and requires dropping ALL.
  const added = (c.capabilities?.add ?? []).find((cap) => cap.replace(/^CAP_/, "") !== "NET_BIND_SERVICE");
  if (added !== undefined) return { field: "capabilities.add", what: `adding the capability ${added}` };
  const drop = c.capabilities?.drop;
  if (drop !== undefined && !drop.includes("ALL")) return { field: "capabilities.drop", what: "a drop list without ALL" };
  if (c.seccompProfile?.type === "Unconfined") return { field: "seccompProfile.type", what: "seccompProfile type Unconfined" };
  return undefined;
}

/** Valid=False StorageInUse naming the run that holds the location; undefined when none does. */
function storageInUse(run: TrainingRun, location: RunLocation | undefined, spec: TrainingRunSpec, others: readonly TrainingRun[]): Validation | undefined {
  if (location === undefined) return undefined;
  const holder = locationHolder(run, location, others);
  if (holder === undefined) return undefined;
  const [field, where] =
    location.kind === "bucket" ? ["spec.checkpoint.storage.s3.prefix", `${locationName(location)} overlaps the bucket prefix of`]
    : spec.checkpoint.claimName !== undefined ? ["spec.checkpoint.claimName", `PersistentVolumeClaim ${location.claimName} is used by`]
    : ["spec.checkpoint", `its PersistentVolumeClaim ${location.claimName} is used by`];
  return {
    ok: false,
    field,
    message: `${where} TrainingRun ${holder.metadata.name}, which holds it; no pod until ${holder.metadata.name} finishes or is deleted`,
    reason: STORAGE_IN_USE,
  };
}

/**
 * On the reference trainer's image, spec.training is its config: refuse a bad one now, in the
 * trainer's own words, rather than after a node was taken for an attempt that exits 2.
 */
function referenceTrainerConfig(spec: TrainingRunSpec): Validation | undefined {
  if (parseImage(spec.image)?.repository !== parseImage(DEFAULT_TRAINER_IMAGE)?.repository) return undefined;
  // `--config FILE` replaces RESUMABLE_CONFIG: spec.training is then not the config.
  if ([...(spec.command ?? []), ...(spec.args ?? [])].some((arg) => arg === "--config" || arg.startsWith("--config="))) return undefined;
  const parsed = trainingConfigSchema.safeParse(spec.training);
  if (parsed.success) return undefined;
  return { ok: false, field: "", message: configProblems(parsed.error.issues, "spec.training").join("; "), reason: "InvalidSpec" };
}

function fieldName(path: z.core.$ZodIssue["path"]): string {
  return path.reduce<string>(
    (name, part) => (typeof part === "number" ? `${name}[${part}]` : name === "" ? String(part) : `${name}.${String(part)}`),
    "",
  );
}

/** Where each pod field the apiserver may refuse comes from in the run (render.ts). */
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
