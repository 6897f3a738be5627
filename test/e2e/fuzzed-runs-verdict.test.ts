// The fuzzed-runs generator's verdicts, without a cluster: what the e2e holds the apiserver and
// the operator to must itself be right on objects whose fate is known.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { deserved, fieldNamed } from "./fuzzed-runs.js";

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

  it("a reference trainer config the trainer would refuse is Valid=False naming the field; another image's config is its own business", () => {
    const run = example("run.yaml");
    (run.spec.training as Json).model = "transformer";
    (run.spec.training as Json).extra = 1;
    assert.deepEqual(deserved(run), { verdict: "Valid=False", fields: ["spec.training.model", "spec.training.extra"] });
    run.spec.image = "example.com/my-trainer:1";
    assert.deepEqual(deserved(run), { verdict: "runs", admissionRefuses: false });
  });

  it("reads the apiserver's indices and map keys as fields, and never a parent for its child", () => {
    const message = 'TrainingRun "fuzz-3" is invalid: spec.resources.limits[nvidia.com/gpu]: Invalid value: "ten"; spec.env[0].name: Required value';
    assert.ok(fieldNamed(message, ["spec.resources.limits.nvidia.com/gpu"]));
    assert.ok(fieldNamed(message, ["spec.env.0.name"]));
    assert.ok(!fieldNamed(message, ["spec.resources"]));
    assert.ok(!fieldNamed(message, ["spec.env.0"]));
  });
});
