import { sliceBytes } from "../../../trainer/src/checkpoint/slices.js";
import type { TrainingSnapshot } from "../../../trainer/src/checkpoint/snapshot.js";
import { fakeSnapshot } from "./snapshots.js";

/** fakeSnapshot with weights of `mib` MiB: that many slices to write and hash. */
export function largeSnapshot(step: number, mib: number, kind: "periodic" | "final" = "periodic"): TrainingSnapshot {
  const snapshot = fakeSnapshot(step, kind);
  const elements = (mib * sliceBytes) / 4;
  snapshot.weights[0] = { name: "hidden/kernel", dtype: "F32", shape: [elements / 2, 2], data: new Float32Array(elements).fill(step) };
  return snapshot;
}

/**
 * The training loop's shape: a step computed synchronously (busy for `stepMs`, as tfjs's cpu and
 * wasm backends compute on the calling thread), then one yield. How many steps until `work`
 * settles: a save run on this thread advances by one awaited I/O completion per step.
 */
export async function stepsUntil(work: Promise<unknown>, stepMs = 100): Promise<number> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  let steps = 0;
  while (!settled) {
    const until = performance.now() + stepMs;
    while (performance.now() < until); // the step's computation
    steps++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await work;
  return steps;
}
