// The fuzzed-runs generator's verdicts, without a cluster: what the e2e holds the apiserver and
// the operator to must itself be right on objects whose fate is known.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { deserved, judged } from "./fuzzed-runs.js";

type Json = Record<string, unknown>;
const example = (file: string): Json & { spec: Json } => parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), "utf8")) as Json & { spec: Json };

describe("fuzzed runs: the verdict each object deserves", () => {
  it("the examples run; the one naming a PriorityClass the cluster lacks is refused by admission and retried", () => {
    assert.deepEqual(deserved(example("run.yaml")), { verdict: "runs", admissionRefuses: false });
    assert.deepEqual(deserved(example("run-cpu.yaml")), { verdict: "runs", admissionRefuses: false });
    assert.deepEqual(deserved(example("run-tuned.yaml")), { verdict: "runs", admissionRefuses: true });
  });

  it("a field of the wrong type is rejected by the apiserver, naming it", () => {
    const run = example("run.yaml");
    (run.spec.preemption as Json).gracePeriodSeconds = "ten";
    assert.deepEqual(deserved(run), { verdict: "rejected", fields: ["spec.preemption.gracePeriodSeconds"] });
  });

  it("a null where the schema declares a field is pruned by the apiserver, as if absent; inside spec.training it stays", () => {
    const run = example("run-cpu.yaml");
    run.spec.resources = null;
    (run.spec.training as Json).checkpoint = null;
    assert.deepEqual(deserved(run), { verdict: "Valid=False", fields: ["spec.training.checkpoint"] });
    (run.spec.training as Json).checkpoint = { everySteps: 100 };
    assert.deepEqual(deserved(run), { verdict: "runs", admissionRefuses: false });
    run.spec.training = null;
    assert.deepEqual(deserved(run), { verdict: "rejected", fields: ["spec.training"] });
  });

  it("a reference trainer config the trainer would refuse is Valid=False naming the field; another image's config is its own business", () => {
    const run = example("run.yaml");
    (run.spec.training as Json).model = "transformer";
    (run.spec.training as Json).extra = 1;
    assert.deepEqual(deserved(run), { verdict: "Valid=False", fields: ["spec.training.model", "spec.training.extra"] });
    run.spec.image = "example.com/my-trainer:1";
    assert.deepEqual(deserved(run), { verdict: "runs", admissionRefuses: false });
  });

  it("resources the pod validation refuses, though the CRD takes them, are Valid=False naming spec.resources", () => {
    const cases: Json[] = [
      { requests: { cpu: 1, unknown1: 2 } }, // not a standard resource, not fully qualified
      { requests: { "nvidia.com/gpu": 1 } }, // an extended resource without its limit
      { limits: { "nvidia.com/gpu": "500m" } }, // a fraction of one
      { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } }, // a request above its limit
    ];
    for (const resources of cases) {
      const run = example("run-cpu.yaml");
      run.spec.resources = resources;
      assert.deepEqual(deserved(run), { verdict: "Valid=False", fields: ["spec.resources"] }, JSON.stringify(resources));
    }
    const run = example("run-cpu.yaml");
    run.spec.resources = { requests: { memory: "1Gi", cpu: "500m" }, limits: { memory: "1Gi", "nvidia.com/gpu": 1 } };
    assert.deepEqual(deserved(run), { verdict: "runs", admissionRefuses: false });
  });

  it("judges an outcome by its kind and by the field named, reading the apiserver's indices and map keys, never a parent for its child", () => {
    const message = 'TrainingRun "fuzz-3" is invalid: [spec.resources.limits[nvidia.com/gpu]: Invalid value: "ten", spec.env[0].name: Required value]';
    const rejected = (fields: string[]) => judged({ verdict: "rejected", fields }, { outcome: "rejected by the apiserver", message });
    assert.equal(rejected(["spec.resources.limits.nvidia.com/gpu"]), undefined);
    assert.equal(rejected(["spec.env.0.name"]), undefined);
    assert.match(rejected(["spec.resources"]) ?? "", /names none of spec.resources$/);
    assert.match(rejected(["spec.env.0"]) ?? "", /names none of/);
    assert.match(judged({ verdict: "Valid=False", fields: ["spec.training.model"] }, { outcome: "waiting for a node", message: "" }) ?? "", /deserved "Valid=False", got "waiting for a node"/);
    assert.match(judged({ verdict: "runs", admissionRefuses: true }, { outcome: "waiting for a node", message: "" }) ?? "", /deserved "pod refused by admission, retried"/);
    assert.equal(judged({ verdict: "runs", admissionRefuses: false }, { outcome: "waiting for a node", message: "" }), undefined);
  });
});
