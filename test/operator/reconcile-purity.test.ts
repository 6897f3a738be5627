import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { T0, aNode, aPod, aRun, disruption, pass, running, startedStatus } from "./reconcile-fixtures.js";

/** Cached objects are shared with the runtime's informers: reconcile must never write to them. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

describe("reconcile: a pure function", () => {
  const scenarios = {
    "a first pass": () => [aRun({ scheduling: { spot: true, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "a", operator: "Exists" }] }] } } } } }), []] as const,
    "an attempt ending": () => [aRun({}, startedStatus(2)), [aPod(2, { phase: "Failed", node: "spot-1", exitCode: 143, conditions: [disruption("EvictionByEvictionAPI")] })]] as const,
    "a run without metadata.generation": () => [{ ...aRun(), metadata: { name: "mnist", namespace: "ml", uid: "run-uid-1" } }, []] as const,
    "progress and a lost node": () => [aRun({}, startedStatus(1)), [running(1, { progress: { step: 5, resumedFromStep: 0 } })]] as const,
  };
  for (const [name, build] of Object.entries(scenarios)) {
    it(`${name}: leaves its input untouched, decides the same twice, returns plain JSON status`, () => {
      const [run, pods] = build();
      const nodes = [aNode("spot-1", "Unknown", T0)];
      deepFreeze([run, pods, nodes]);
      const first = pass(run, [...pods], new Date(T0.getTime() + 60_000), { nodes });
      const second = pass(run, [...pods], new Date(T0.getTime() + 60_000), { nodes });
      assert.deepEqual(second, first);
      // What the runtime diffs and writes: plain JSON, no keys holding undefined.
      assert.deepEqual(JSON.parse(JSON.stringify(first.status)), first.status);
    });
  }
});
