// spec.training of a run on the reference trainer's image is checked with the trainer's own
// schema (@resumable/protocol/reference-trainer) before any pod exists.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { T0, actionKinds, aRun, pass } from "./reconcile-fixtures.js";

const valid = (d: ReturnType<typeof pass>) => d.status.conditions?.find((c) => c.type === "Valid");

describe("reconcile: the reference trainer's config is validated before any pod", () => {
  it("a bad spec.training is Valid=False naming every field, and no pod is created", () => {
    const d = pass(aRun({ training: { model: "transformer", totalSteps: "ten" } }), [], T0);
    assert.equal(valid(d)?.status, "False");
    const message = valid(d)?.message ?? "";
    assert.match(message, /spec\.training\.model: Invalid option: expected one of "mlp"\|"cnn"/);
    assert.match(message, /spec\.training\.totalSteps: /);
    assert.deepEqual(actionKinds(d), []);
  });

  it("an unknown field is named as such, as the trainer words it", () => {
    const d = pass(aRun({ training: { totalSteps: 10, learningrate: 0.1 } }), [], T0);
    assert.equal(valid(d)?.message, "spec.training.learningrate: unknown field");
  });

  it("applies to any tag or digest of the default image's repository", () => {
    for (const image of ["resumable/trainer:0.2.0-gpu", "docker.io/resumable/trainer", "resumable/trainer@sha256:" + "0".repeat(64)]) {
      assert.equal(valid(pass(aRun({ image, training: { model: "transformer", totalSteps: 10 } }), [], T0))?.status, "False", image);
    }
  });

  it("leaves other trainers' configs to them, and a --config file to the trainer", () => {
    const other = pass(aRun({ image: "example.com/my-trainer:1", training: { anything: ["goes"] } }), [], T0);
    assert.equal(valid(other)?.status, "True");
    assert.deepEqual(actionKinds(other), ["createPod"]);
    const file = pass(aRun({ args: ["--config", "/etc/train.yaml"], training: {} }), [], T0);
    assert.equal(valid(file)?.status, "True");
  });

  it("a valid config starts the first attempt as before", () => {
    assert.equal(valid(pass(aRun(), [], T0))?.status, "True");
  });
});
