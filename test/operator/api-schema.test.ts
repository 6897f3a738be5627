import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { trainingRunSpecSchema } from "../../operator/src/api/spec.js";
import { trainingRunSchema } from "../../operator/src/api/trainingrun.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import { DEFAULT_SETTINGS } from "../../operator/src/model/settings.js";
import { validateRun } from "../../operator/src/reconcile/validate.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { corpus, minimal, minimalDefaulted } from "./corpus.js";

describe("api: the zod schema against the shared corpus", () => {
  for (const c of corpus) {
    it(`${c.name} is ${c.valid ? "accepted" : `rejected at ${c.field || "the object"}`}`, () => {
      assert.equal(trainingRunSchema.safeParse(c.object).success, c.valid);
      // The schema alone: the operator's policy on relaxed security contexts is its own test.
      const run = c.object as unknown as TrainingRun;
      const validation = validateRun({ run, location: checkpointLocation(run) }, { ...DEFAULT_SETTINGS, allowRelaxedSecurityContext: true });
      assert.equal(validation.ok, c.valid);
      if (!validation.ok) assert.equal(validation.field, c.field);
    });
  }

  it("defaults fill a minimal spec exactly as documented", () => {
    assert.deepEqual(trainingRunSpecSchema.parse(minimal.spec), minimalDefaulted);
  });

  it("an explicit value is never replaced by a default", () => {
    const spec = trainingRunSpecSchema.parse({ training: {}, preemption: { gracePeriodSeconds: 5 }, checkpoint: { retainOnDelete: false } });
    assert.equal(spec.preemption.gracePeriodSeconds, 5);
    assert.equal(spec.checkpoint.retainOnDelete, false);
    assert.equal(spec.checkpoint.mountPath, "/checkpoints");
  });
});
