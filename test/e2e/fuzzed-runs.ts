// The fuzzed TrainingRuns' generator, and the verdict each deserves. The verdict comes from
// the declared contracts, not from the operator's decisions: the zod schema the CRD is
// generated from (with its CEL rules) says what the apiserver must refuse; the reference
// trainer's config schema says what the operator must call Valid=False before any pod;
// Kubernetes' pod validation of container resources (which the CRD does not repeat) says
// which pods the apiserver refuses, which the operator must also call Valid=False; everything
// else must run (here: wait for a node, or be retried while admission refuses its pod). fuzzed-runs.integration.test.ts checks each object against its verdict.
import { readFileSync } from "node:fs";
import { trainingConfigSchema } from "@resumable/protocol/reference-trainer";
import type { z } from "zod";
import { DEFAULT_TRAINER_IMAGE } from "../../operator/src/api/group.js";
import { trainingRunSchema, type TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { Prng } from "../../trainer/src/data/prng.js";
import { parse } from "yaml";

type Json = Record<string, unknown>;

const examples = ["run.yaml", "run-cpu.yaml", "run-tuned.yaml"].map(
  (f) => parse(readFileSync(new URL(`../../examples/${f}`, import.meta.url), "utf8")) as TrainingRun,
);

/** Values of every JSON kind, edge cases first: what a confused user or a hostile tenant writes. */
const ODD_VALUES: unknown[] = [
  null, "", " ", "ten", "0", -1, 0, 1, 2 ** 31, 2 ** 53, 1.5, -0.5, true, false, [], [1, "a"], {},
  { "bad key!": "x" }, "ÿ\u0000\uffff", "a".repeat(300), "nvidia.com/gpu", "/checkpoints", "IfNotPresent",
];

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function setAt(root: Json, path: string[], value: unknown): void {
  let node: Json = root;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Json;
  }
  const last = path.at(-1);
  if (last === undefined) return;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** One to three mutations of a random example's spec: a field removed, replaced or added. */
export function mutant(random: Prng, name: string, namespace: string): Json {
  const base = structuredClone(examples[random.nextBelow(examples.length)]!) as unknown as Json;
  const spec = base.spec as Json;
  const mutations = 1 + random.nextBelow(3);
  for (let i = 0; i < mutations; i++) {
    const all = paths(spec).filter((p) => p.length > 0);
    if (all.length === 0) all.push([`unknown${i}`]);
    const target = all[random.nextBelow(all.length)]!;
    const pick = random.nextBelow(4);
    if (pick === 0) setAt(spec, target, undefined);
    else if (pick === 1) setAt(spec, target, ODD_VALUES[random.nextBelow(ODD_VALUES.length)]);
    else if (pick === 2) setAt(spec, [...target.slice(0, -1), `unknown${random.nextBelow(9)}`], ODD_VALUES[random.nextBelow(ODD_VALUES.length)]);
    else setAt(spec, target, structuredClone(all[random.nextBelow(all.length)]!.reduce<unknown>((v, k) => (v as Json)?.[k], spec)));
  }
  return { ...base, metadata: { name, namespace } };
}

export type Verdict =
  /** The apiserver refuses it (400/422) naming one of `fields`. */
  | { verdict: "rejected"; fields: string[] }
  /** Created, then Valid=False naming one of `fields`, and no pod. */
  | { verdict: "Valid=False"; fields: string[] }
  /** Created and valid: its pod waits for a node, or is refused by admission and retried. */
  | { verdict: "runs"; admissionRefuses: boolean };

/** The verdict `object` deserves. */
export function deserved(object: Json): Verdict {
  const run = trainingRunSchema.safeParse(withoutNulls(object, []));
  if (!run.success) {
    const fields = run.error.issues.map((i) => apiserverField(i.path));
    // The CRD's int-or-string quantity has no minimum (only its string branch has a pattern):
    // a negative integer there is created, and the operator's schema makes it Valid=False.
    if (run.error.issues.every((i) => i.code === "too_small" && NEGATIVE_QUANTITY.test(apiserverField(i.path)))) return { verdict: "Valid=False", fields };
    return { verdict: "rejected", fields };
  }
  const spec = run.data.spec;
  // The reference trainer's image (the examples' only image) has its config checked up front,
  // unless --config points it at a file instead of spec.training.
  const configFromFile = [...(spec.command ?? []), ...(spec.args ?? [])].some((a) => a === "--config" || a.startsWith("--config="));
  if (spec.image === DEFAULT_TRAINER_IMAGE && !configFromFile) {
    const config = trainingConfigSchema.safeParse(spec.training);
    if (!config.success) return { verdict: "Valid=False", fields: config.error.issues.flatMap(configFields) };
  }
  const refusedPod = podRefusal(spec.resources ?? {});
  if (refusedPod) return { verdict: "Valid=False", fields: [refusedPod] };
  // The cluster has no PriorityClass but the built-in system ones: admission refuses any other.
  const priorityClass = spec.scheduling.priorityClassName;
  return { verdict: "runs", admissionRefuses: priorityClass !== undefined && !priorityClass.startsWith("system-") };
}

export type Outcome = "rejected by the apiserver" | "Valid=False" | "waiting for a node" | "pod refused by admission, retried";

/** What became of one object in the cluster. */
export interface Settled {
  outcome: Outcome;
  /** The apiserver's refusal, or the Valid=False message. */
  message: string;
}

/** Why `got` is not what `want` said, or undefined when it is. */
export function judged(want: Verdict, got: Settled): string | undefined {
  const expected: Outcome =
    want.verdict === "rejected" ? "rejected by the apiserver" : want.verdict === "Valid=False" ? "Valid=False" : want.admissionRefuses ? "pod refused by admission, retried" : "waiting for a node";
  if (got.outcome !== expected) return `deserved "${expected}", got "${got.outcome}" (${got.message})`;
  if (want.verdict !== "runs" && !fieldNamed(got.message, want.fields)) return `"${got.message}" names none of ${want.fields.join(", ")}`;
  return undefined;
}

/** The quantities of the spec (resources, the checkpoint volume's size). */
const NEGATIVE_QUANTITY = /^spec\.(resources\.(limits|requests)\.[^.]+|checkpoint\.volume\.size)$/;

/** Fields the CRD passes through as they are (x-kubernetes-preserve-unknown-fields). */
const OPAQUE = ["spec.training", "spec.scheduling.affinity", "spec.env.*.valueFrom"];

/**
 * The object as the apiserver validates it: a null in a field the schema declares (and does
 * not make nullable) is pruned first, as if the field were absent (apiextensions-apiserver's
 * pruning of non-nullable nulls); inside a passed-through field, and in lists, nulls stay.
 */
function withoutNulls(value: unknown, path: string[]): unknown {
  if (OPAQUE.some((o) => new RegExp(`^${o.replaceAll(".", "\\.").replace("*", "[^.]+")}$`).test(path.join(".")))) return value;
  if (Array.isArray(value)) return value.map((v, i) => withoutNulls(v, [...path, String(i)]));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v, [...path, k])]));
}

type Quantity = number | string;

/**
 * What the apiserver's pod validation refuses in a container's resources that the CRD does not
 * check, as the spec field it comes from (the operator then says Valid=False, PodRejected):
 * a name that is neither a standard container resource nor a fully qualified extended one; an
 * extended resource (nvidia.com/gpu) that is fractional, or requested without an equal limit;
 * a request above its limit.
 */
function podRefusal(resources: { limits?: Record<string, Quantity>; requests?: Record<string, Quantity> }): string | undefined {
  const limits = resources.limits ?? {};
  const requests = resources.requests ?? {};
  for (const name of new Set([...Object.keys(limits), ...Object.keys(requests)])) {
    const domain = name.includes("/") ? name.split("/")[0]! : "kubernetes.io";
    const native = domain === "kubernetes.io" || domain.endsWith(".kubernetes.io");
    if (native && !["cpu", "memory", "ephemeral-storage"].includes(name)) return "spec.resources";
    const limit = name in limits ? quantityValue(limits[name]!) : undefined;
    const request = name in requests ? quantityValue(requests[name]!) : undefined;
    if (!native && [limit, request].some((q) => q !== undefined && !Number.isInteger(q))) return "spec.resources";
    if (!native && request !== undefined && limit !== request) return "spec.resources";
    if (limit !== undefined && request !== undefined && request > limit) return "spec.resources";
  }
  return undefined;
}

const SUFFIXES: Record<string, number> = {
  "": 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A resource.Quantity's value (the schema has checked its syntax). */
function quantityValue(q: Quantity): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q);
  return m ? Number(m[1]) * (SUFFIXES[m[2]!] ?? Number.NaN) : Number.NaN;
}

/** A field as a dotted path; `fieldNamed` reads the apiserver's `env[0]` and `limits[cpu]` the same way. */
function apiserverField(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** Whether `message` names one of `fields`, whichever way it writes indices and map keys. */
function fieldNamed(message: string, fields: string[]): boolean {
  // Innermost brackets only: the apiserver also lists errors as "is invalid: [a[0]: ..., b: ...]".
  const dotted = message.replace(/\[([^[\]]+)\]/g, ".$1");
  // The whole field, not a parent of the one named: spec.resources is not spec.resources.limits.
  return fields.some((f) => new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w./-])`).test(dotted));
}

/** The fields a config issue is about, under spec.training; an unknown key is its own field. */
function configFields(issue: z.core.$ZodIssue): string[] {
  const base = ["spec", "training", ...issue.path.map(String)];
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => [...base, k].join("."));
  return [base.join(".")];
}
