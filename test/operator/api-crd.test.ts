import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { renderCrdYaml, trainingRunCrd } from "../../operator/src/api/crd.js";
import { minimal, minimalDefaulted } from "./corpus.js";

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema };

const CRD_FILE = new URL("../../crds/resumable.dev_trainingruns.yaml", import.meta.url);
const version = (trainingRunCrd().spec as { versions: Record<string, unknown>[] }).versions[0] ?? {};
const root = (version.schema as { openAPIV3Schema: Schema }).openAPIV3Schema;

/** Every schema node with its path, depth first. */
function* nodes(schema: Schema, path = ""): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* nodes(child, `${path}.${name}`);
  if (schema.items) yield* nodes(schema.items, `${path}[]`);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${path}{}`);
}

/** The apiserver's defaulting, top down: a default is applied, then defaulted inside. */
function applyDefaults(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (schema.items ? applyDefaults(schema.items, item) : item));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
  }
  return out;
}

describe("api: the generated CRD", () => {
  it("the committed file is up to date (regenerate: node --import tsx crds/generate.ts)", () => {
    assert.equal(readFileSync(CRD_FILE, "utf8"), renderCrdYaml());
  });

  it("the YAML reads back as exactly the generated object", () => {
    assert.deepEqual(parse(readFileSync(CRD_FILE, "utf8")), trainingRunCrd());
  });

  it("is a structural schema: every node typed, no keywords the apiserver rejects", () => {
    for (const [path, node] of nodes(root)) {
      const typed = typeof node.type === "string" || node["x-kubernetes-int-or-string"] === true;
      assert.ok(typed, `${path || "<root>"} has a type`);
      for (const keyword of ["$schema", "$ref", "const", "propertyNames", "oneOf", "allOf", "not"]) {
        assert.ok(!(keyword in node), `${path} has no ${keyword}`);
      }
      assert.ok(!(node.properties && node.additionalProperties), `${path}: properties or additionalProperties, not both`);
      if (node["x-kubernetes-preserve-unknown-fields"]) assert.equal(node.type, "object", path);
      // OpenAPI v3's form: a boolean beside minimum/maximum, never JSON Schema 2020's number.
      for (const keyword of ["exclusiveMinimum", "exclusiveMaximum"]) {
        if (keyword in node) assert.equal(typeof node[keyword], "boolean", `${path}.${keyword} is a boolean, as the apiserver requires`);
      }
    }
  });

  it("a positive integer (zod's exclusiveMinimum: 0) becomes minimum: 1, as the apiserver takes it", () => {
    const worldSize = [...nodes(root)].find(([path]) => path.endsWith(".result.worldSize"));
    assert.ok(worldSize, "status.result.worldSize is in the schema");
    assert.equal(worldSize[1].minimum, 1);
    assert.ok(!("exclusiveMinimum" in worldSize[1]));
  });

  it("every integer the operator reads is bounded to what a JavaScript number holds exactly, so the apiserver refuses 2^53", () => {
    const integers = [...nodes(root)].filter(([, node]) => node.type === "integer");
    assert.ok(integers.some(([path]) => path.endsWith(".backoff.properties.maxSeconds") || path.endsWith(".backoff.maxSeconds")), "backoff.maxSeconds is among them");
    for (const [path, node] of integers) {
      assert.ok(typeof node.maximum === "number" && node.maximum <= Number.MAX_SAFE_INTEGER, `${path} has a maximum within 2^53-1 (its int64 would not fit a number)`);
    }
  });

  it("apiserver defaulting of a minimal object gives the spec zod gives", () => {
    const defaulted = applyDefaults(root, minimal) as { spec: unknown };
    assert.deepEqual(defaulted.spec, minimalDefaulted);
  });

  it("carries the cross-field CEL rules", () => {
    const rules = [...nodes(root)].flatMap(([path, node]) =>
      ((node["x-kubernetes-validations"] as { rule: string }[] | undefined) ?? []).map((r) => `${path}: ${r.rule}`),
    );
    assert.deepEqual(rules, [
      ": self.metadata.name.size() <= 63",
      ": !has(self.spec.workers) || self.spec.workers <= 1 || self.metadata.name.size() <= 56 - (self.spec.workers > 10 ? 2 : 1)",
      ".spec: !has(self.checkpoint) || !has(self.checkpoint.storage) || !has(self.checkpoint.storage.s3) || !has(self.env) || self.env.all(e, !(e.name in ['RESUMABLE_CHECKPOINT_URL','RESUMABLE_S3_ENDPOINT','RESUMABLE_S3_REGION','RESUMABLE_S3_CREDENTIALS_DIR']))",
      ".spec: !has(self.workers) || self.workers <= 1 || !has(self.env) || self.env.all(e, !(e.name in ['RESUMABLE_RANK','RESUMABLE_WORLD_SIZE','RESUMABLE_PEERS_FILE','RANK','WORLD_SIZE','LOCAL_RANK','MASTER_ADDR','MASTER_PORT']))",
      ".spec.env: self.all(e, !(e.name in ['RESUMABLE_CHECKPOINT_DIR','RESUMABLE_CONFIG','RESUMABLE_RUN','RESUMABLE_RUN_UID','RESUMABLE_ATTEMPT','RESUMABLE_POD_NAME','RESUMABLE_POD_NAMESPACE','RESUMABLE_POD_IP']))",
      ".spec.securityContext: !has(self.runAsUser) || self.runAsUser != 0 || (has(self.runAsNonRoot) && !self.runAsNonRoot)",
      ".spec.securityContext: !has(self.capabilities) || !has(self.capabilities.add) || !self.capabilities.add.exists(c, c == 'SYS_ADMIN' || c == 'CAP_SYS_ADMIN') || (has(self.allowPrivilegeEscalation) && self.allowPrivilegeEscalation)",
      ".spec.securityContext.seccompProfile: self.type == 'Localhost' ? has(self.localhostProfile) : !has(self.localhostProfile)",
      ".spec.checkpoint: !(has(self.claimName) && has(self.volume))",
      ".spec.checkpoint: !has(self.claimName) || !has(self.retainOnDelete) || self.retainOnDelete",
      ".spec.checkpoint: !has(self.storage) || !has(self.storage.s3) || !(has(self.claimName) || has(self.volume))",
      ".spec.checkpoint: !has(self.storage) || !has(self.storage.s3) || !has(self.retainOnDelete) || self.retainOnDelete",
      ".spec.checkpoint.storage.s3.bucket: !self.contains('..')",
      ".spec.checkpoint.storage.s3.bucket: !self.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",
      ".spec.checkpoint.storage.s3.prefix: !self.matches('(^|/)[.][.]?(/|$)')",
      ".spec.failurePolicy.backoff: !has(self.initialSeconds) || !has(self.maxSeconds) || self.initialSeconds <= self.maxSeconds",
      ".spec.scheduling: !has(self.fallback) || (has(self.spot) && self.spot)",
      ".spec.scheduling.tolerations[]: !has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      ".spec.scheduling.tolerations[]: !has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      ".spec.scheduling.tolerations[]: has(self.key) && self.key != '' || has(self.operator) && self.operator == 'Exists'",
      ".spec.scheduling.fallback: has(self.afterPreemptions) || has(self.afterPendingSeconds)",
      ".spec.scheduling.fallback: !has(self.spotTolerations) || has(self.spotNodeSelector)",
      ".spec.scheduling.fallback.spotTolerations[]: !has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      ".spec.scheduling.fallback.spotTolerations[]: !has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      ".spec.scheduling.fallback.spotTolerations[]: has(self.key) && self.key != '' || has(self.operator) && self.operator == 'Exists'",
    ]);
  });

  it("names, status subresource and printer columns", () => {
    const spec = trainingRunCrd().spec as Record<string, unknown>;
    assert.deepEqual(spec.names, { kind: "TrainingRun", listKind: "TrainingRunList", plural: "trainingruns", singular: "trainingrun", shortNames: ["tr"] });
    assert.deepEqual(version.subresources, { status: {} });
    const columns = (version.additionalPrinterColumns as { name: string; priority?: number }[]).filter((c) => !c.priority);
    assert.deepEqual(columns.map((c) => c.name), ["Phase", "Step", "Preemptions", "Checkpoint", "Storage", "Age"]);
  });
});
