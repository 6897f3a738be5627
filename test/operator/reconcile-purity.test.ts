import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { T0, aNode, aPod, aRun, afterWrite, disruption, pass, running, startedStatus } from "./reconcile-fixtures.js";

/** Cached objects are shared with the runtime's informers: reconcile must never write to them. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A run whose progress was written 5 s before the pass, and a newer report (its pod on no node, so none is lost). */
function heldReport() {
  const pod = (step: number) => aPod(1, { phase: "Running", progress: { step, resumedFromStep: 0 } });
  const run = aRun({}, startedStatus(1));
  const written = pass(run, [pod(5)], new Date(T0.getTime() + 55_000));
  return [afterWrite(run, written), [pod(6)]] as const;
}

/** A gang of 3 whose rank 1 was evicted while the others run: ranks on the record, peers, deletes. */
function gangRankEvicted() {
  const rank = (r: number, o: Parameters<typeof aPod>[1]) => {
    const pod = aPod(1, { uid: `pod-uid-1-${r}`, ...o });
    pod.metadata!.name = `mnist-1-${r}`;
    pod.status!.podIP = `127.1.0.${r + 1}`;
    return pod;
  };
  const ranks = [0, 1, 2].map((r) => ({ rank: r, pod: `mnist-1-${r}` }));
  const run = aRun({ workers: 3 }, { attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1-0", ranks, createdAt: T0.toISOString() }] });
  return [run, [rank(0, { phase: "Running", node: "spot-1" }), rank(1, { phase: "Failed", node: "spot-1", exitCode: 143, conditions: [disruption("EvictionByEvictionAPI")] }), rank(2, { phase: "Pending" })]] as const;
}

describe("reconcile: a pure function", () => {
  const scenarios = {
    "a first pass": () => [aRun({ scheduling: { spot: true, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "a", operator: "Exists" }] }] } } } } }), []] as const,
    "an attempt ending": () => [aRun({}, startedStatus(2)), [aPod(2, { phase: "Failed", node: "spot-1", exitCode: 143, conditions: [disruption("EvictionByEvictionAPI")] })]] as const,
    "a run without metadata.generation": () => [{ ...aRun(), metadata: { name: "mnist", namespace: "ml", uid: "run-uid-1" } }, []] as const,
    "progress and a lost node": () => [aRun({}, startedStatus(1)), [running(1, { progress: { step: 5, resumedFromStep: 0 } })]] as const,
    "a progress report held within the write interval": heldReport,
    "a gang's first pass": () => [aRun({ workers: 3 }), []] as const,
    "a gang's rank evicted": gangRankEvicted,
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
