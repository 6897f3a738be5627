import type { z } from "zod";

/**
 * A cross-field rule stated once and enforced twice: as a CEL `x-kubernetes-validations`
 * entry in the generated CRD (the apiserver rejects the object) and as a zod refinement
 * (the operator reports Valid=False for objects that reached it some other way, e.g. an
 * older CRD). `holds` must mean exactly what `rule` means.
 */
export interface CrossFieldRule<T> {
  /** CEL, evaluated with `self` bound to the object the rule is attached to. */
  rule: string;
  message: string;
  /** The field the message is about, relative to `self` (`.claimName`, or "" for self); also the zod issue path. */
  field: string;
  holds: (self: T) => boolean;
}

export function withRules<S extends z.ZodType>(schema: S, rules: CrossFieldRule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.holds(value)) {
        ctx.addIssue({ code: "custom", message: r.message, path: fieldPath(r.field) });
      }
    }
  });
  return refined.meta({
    "x-kubernetes-validations": rules.map((r) => ({
      rule: r.rule,
      message: r.message,
      ...(r.field === "" ? {} : { fieldPath: r.field }),
    })),
  }) as S;
}

function fieldPath(field: string): string[] {
  return field.split(".").filter((part) => part !== "");
}
