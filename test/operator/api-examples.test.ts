import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { trainingRunSchema } from "../../operator/src/api/trainingrun.js";
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";

const EXAMPLES = new URL("../../examples/", import.meta.url);

describe("api: examples/*.yaml", () => {
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"))) {
    it(`${file} is a valid TrainingRun whose training config the trainer accepts`, () => {
      const result = trainingRunSchema.safeParse(parse(readFileSync(new URL(file, EXAMPLES), "utf8")));
      assert.ok(result.success, JSON.stringify(result.error?.issues));
      const training = trainingConfigSchema.safeParse(result.data.spec.training);
      assert.ok(training.success, JSON.stringify(training.error?.issues));
    });
  }

  it("run.yaml trains an mlp on mnist on a spot GPU, checkpointing every 100 of 600 steps", () => {
    const run = trainingRunSchema.parse(parse(readFileSync(new URL("run.yaml", EXAMPLES), "utf8")));
    assert.equal(run.spec.scheduling.spot, true);
    assert.equal(run.spec.resources?.limits?.["nvidia.com/gpu"], 1);
    assert.deepEqual(run.spec.training, { model: "mlp", dataset: "mnist", totalSteps: 600, checkpoint: { everySteps: 100, keep: 3 } });
  });
});
