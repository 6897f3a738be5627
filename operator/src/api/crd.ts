import { z } from "zod";
import { API_GROUP, API_VERSION, KIND, LIST_KIND, PLURAL, SHORT_NAMES, SINGULAR } from "./group.js";
import { trainingRunStatusSchema } from "./status.js";
import { trainingRunSchema } from "./trainingrun.js";
import { toYaml } from "./yaml.js";

type JsonSchema = Record<string, unknown>;

/**
 * The CustomResourceDefinition, generated from the zod schemas so the two cannot drift.
 * crds/resumable.dev_trainingruns.yaml is its committed output (crds/generate.ts writes
 * it; a test fails when it is stale).
 */
export function trainingRunCrd(): JsonSchema {
  const root = structural(z.toJSONSchema(trainingRunSchema, { io: "input" }) as JsonSchema);
  const properties = root.properties as Record<string, JsonSchema>;
  // The apiserver owns these three; the zod literals only check what reaches the operator.
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = { type: "object" };
  properties.status = structural(z.toJSONSchema(trainingRunStatusSchema, { io: "output" }) as JsonSchema);
  root.required = ["spec"];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: { kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: root },
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS,
        },
      ],
    },
  };
}

const PRINTER_COLUMNS = [
  { name: "Phase", type: "string", jsonPath: ".status.phase" },
  { name: "Step", type: "integer", jsonPath: ".status.progress.step" },
  { name: "Preemptions", type: "integer", jsonPath: ".status.preemptions" },
  { name: "Checkpoint", type: "integer", jsonPath: ".status.lastCheckpoint.step", description: "step of the newest checkpoint" },
  { name: "Storage", type: "string", jsonPath: ".status.checkpointStorage", description: "where the checkpoints are: s3://bucket/prefix or pvc/<claim>" },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  { name: "Attempt", type: "integer", jsonPath: ".status.attempt", priority: 1 },
  { name: "Workers", type: "integer", jsonPath: ".spec.workers", description: "pods per attempt (a gang's ranks)", priority: 1 },
  { name: "Failures", type: "integer", jsonPath: ".status.failures", priority: 1 },
  { name: "Lost", type: "integer", jsonPath: ".status.lostSteps", description: "steps trained twice", priority: 1 },
];

export function renderCrdYaml(): string {
  const header = "# Generated from operator/src/api by crds/generate.ts; do not edit.\n";
  return header + toYaml(trainingRunCrd());
}

/**
 * Rewrites zod's JSON Schema into a Kubernetes structural schema: every node typed, no
 * JSON Schema keywords the apiserver rejects, open maps marked to keep unknown fields.
 */
function structural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYWORDS.has(key)) continue;
    if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, structural(v)]),
      );
    } else if (key === "items" || (key === "additionalProperties" && isTyped(value))) {
      out[key] = structural(value as JsonSchema);
    } else if (key === "additionalProperties") {
      // `{}` (any value): an open object, e.g. spec.training or a core/v1 Affinity.
      if (value !== false) out["x-kubernetes-preserve-unknown-fields"] = true;
    } else if (key === "const") {
      out.enum = [value];
    } else if ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof value === "number") {
      // zod writes JSON Schema 2020's numeric form (`.positive()` is exclusiveMinimum: 0); the
      // apiserver's OpenAPI v3 takes only a boolean beside minimum/maximum, and refuses the CRD.
      const bound = key === "exclusiveMinimum" ? "minimum" : "maximum";
      if (node.type === "integer") out[bound] = key === "exclusiveMinimum" ? value + 1 : value - 1;
      else [out[bound], out[key]] = [value, true];
    } else {
      out[key] = value;
    }
  }
  if (out["x-kubernetes-int-or-string"] === true) return intOrString(out);
  return out;
}

const DROPPED_KEYWORDS = new Set(["$schema", "propertyNames", "id"]);

function isTyped(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length > 0;
}

/** The form controller-gen emits for resource.Quantity: typed branches, pattern outside. */
function intOrString(node: JsonSchema): JsonSchema {
  const branches = (node.anyOf as JsonSchema[] | undefined) ?? [];
  const pattern = branches.find((b) => b.type === "string")?.pattern;
  const { anyOf: _branches, ...rest } = node;
  return {
    ...rest,
    anyOf: [{ type: "integer" }, { type: "string" }],
    ...(pattern === undefined ? {} : { pattern }),
  };
}
