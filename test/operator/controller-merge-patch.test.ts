import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergePatchBetween } from "../../operator/src/controller/merge-patch.js";

describe("mergePatchBetween", () => {
  it("is undefined when nothing changed, whatever the key order", () => {
    assert.equal(mergePatchBetween({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), undefined);
  });

  it("carries changed and added keys, nested", () => {
    assert.deepEqual(mergePatchBetween({ a: 1, b: { c: 1, d: 2 } }, { a: 2, b: { c: 1, d: 3 }, e: "x" }), {
      a: 2,
      b: { d: 3 },
      e: "x",
    });
  });

  it("nulls removed keys, and keys set to undefined", () => {
    assert.deepEqual(mergePatchBetween({ a: 1, b: 2, c: { d: 1 } }, { b: undefined, c: {} }), { a: null, b: null, c: { d: null } });
  });

  it("replaces arrays whole", () => {
    assert.deepEqual(mergePatchBetween({ list: [{ a: 1 }, { a: 2 }] }, { list: [{ a: 1 }] }), { list: [{ a: 1 }] });
  });

  it("applying the patch gives the target (RFC 7386)", () => {
    const from = { phase: "Running", attempts: [{ attempt: 1 }], progress: { step: 5, loss: 0.3 }, nextAttemptAt: "t" };
    const to = { phase: "Restarting", attempts: [{ attempt: 1, endTime: "e" }], progress: { step: 9 } };
    const apply = (target: unknown, patch: unknown): unknown => {
      if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
      const out: Record<string, unknown> =
        target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else out[k] = apply(out[k], v);
      }
      return out;
    };
    assert.deepEqual(apply(from, mergePatchBetween(from, to)), to);
  });
});
