import * as tf from "@tensorflow/tfjs";
import type { NamedTensor } from "../safetensors/format.js";
import { adamPowers } from "./optimizer.js";

/**
 * Moving model and optimizer state between tfjs and host memory. tfjs's setWeights matches by
 * position, and its variable names get per-process suffixes (`hidden/kernel_1`), so state is
 * stored under the layers' stable original names and every name is checked on restore.
 */

const powerNames = ["adam/beta1_power", "adam/beta2_power"] as const;

/** Stable weight names in the model's order: `<layer>/<weight>`. */
export function weightNames(model: tf.LayersModel): string[] {
  return model.weights.map((w) => w.originalName);
}

/**
 * A tensor's values on the host. `copy` when training will go on: a backend may hand out its
 * own storage (the cpu backend does). Without it (the final save, training has stopped) a
 * large model is not copied once more.
 */
function toHost(name: string, t: tf.Tensor, copy: boolean): NamedTensor {
  if (t.dtype !== "float32") throw new Error(`${name}: dtype ${t.dtype}, expected float32`);
  const data = t.dataSync() as Float32Array;
  return { name, dtype: "F32", shape: [...t.shape], data: copy ? data.slice() : data };
}

export function captureWeights(model: tf.LayersModel, copy = true): NamedTensor[] {
  return model.weights.map((w) => toHost(w.originalName, w.read(), copy));
}

/** Optimizer state: Adam's moments `<weight>/m` then `<weight>/v` plus its beta powers; SGD has none. */
export async function captureOptimizer(model: tf.LayersModel, optimizer: tf.Optimizer, copy = true): Promise<{ iterations: number; tensors: NamedTensor[] }> {
  const [iter, ...moments] = await optimizer.getWeights();
  if (iter === undefined) throw new Error("optimizer.getWeights() returned nothing");
  const iterations = iter.tensor.dataSync()[0]!;
  iter.tensor.dispose(); // a fresh scalar made by getWeights
  const names = expectedMoments(model, moments.length).map((e) => e.name);
  const tensors = moments.map((m, i) => toHost(names[i]!, m.tensor, copy));
  const powers = adamPowers(optimizer);
  if (powers) tensors.push(toHost(powerNames[0], powers.accBeta1, copy), toHost(powerNames[1], powers.accBeta2, copy));
  return { iterations, tensors };
}

/** A tensor the model expects in a checkpoint: its stable name and its shape. */
interface Expected {
  name: string;
  shape: readonly number[];
}

/** The optimizer's moment tensors in its order: m for each trainable weight, then v (each of the weight's shape). */
function expectedMoments(model: tf.LayersModel, count: number): Expected[] {
  if (count === 0) return []; // Adam creates its moments on the first step
  const trainable = model.trainableWeights.map((w) => ({ name: w.originalName, shape: w.shape as number[] }));
  if (count !== 2 * trainable.length) throw new Error(`optimizer has ${count} state tensors for ${trainable.length} trainable weights`);
  return [...trainable.map((w) => ({ ...w, name: `${w.name}/m` })), ...trainable.map((w) => ({ ...w, name: `${w.name}/v` }))];
}

export function restoreWeights(model: tf.LayersModel, weights: NamedTensor[]): void {
  checkTensors(
    "model weights",
    weights,
    model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })),
  );
  const tensors = weights.map((w) => tf.tensor(w.data, w.shape, "float32"));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Call once, on a fresh optimizer: tfjs leaks the old moments when setWeights replaces them. */
export async function restoreOptimizer(model: tf.LayersModel, optimizer: tf.Optimizer, iterations: number, saved: NamedTensor[]): Promise<void> {
  const powers = adamPowers(optimizer);
  // As captureOptimizer stores them: the moments, then (Adam) the two scalar beta powers.
  const moments = powers ? saved.filter((t) => !(powerNames as readonly string[]).includes(t.name)) : saved;
  const expectedPowers = powers ? powerNames.map((name) => ({ name, shape: [] })) : [];
  checkTensors("optimizer state", saved, [...expectedMoments(model, moments.length), ...expectedPowers]);
  const tensors = [
    { name: "iter", tensor: tf.scalar(iterations, "int32") },
    ...moments.map((t) => ({ name: t.name, tensor: tf.tensor(t.data, t.shape, "float32") })),
  ];
  await optimizer.setWeights(tensors);
  tf.dispose(tensors.map((t) => t.tensor));
  if (powers) {
    // setWeights recomputed these with pow(); put back the exact values the run had.
    const [beta1Power, beta2Power] = saved.slice(-2);
    tf.tidy(() => {
      powers.accBeta1.assign(tf.scalar(beta1Power!.data[0]!));
      powers.accBeta2.assign(tf.scalar(beta2Power!.data[0]!));
    });
  }
}

/**
 * Names in order, then each tensor's dtype and shape: a checkpoint is refused rather than
 * converted or reshaped (an I32 tensor under a weight's name would otherwise load as floats).
 */
function checkTensors(what: string, saved: NamedTensor[], expected: Expected[]): void {
  const names = saved.map((t) => t.name);
  if (names.join("\n") !== expected.map((e) => e.name).join("\n")) {
    throw new Error(`${what} do not match the model: checkpoint has [${names.join(", ")}], model expects [${expected.map((e) => e.name).join(", ")}]`);
  }
  saved.forEach((t, i) => {
    const want = expected[i]!;
    if (t.dtype !== "F32") throw new Error(`${what}: ${t.name} is ${t.dtype} in the checkpoint, expected F32`);
    if (t.shape.join() !== want.shape.join()) throw new Error(`${what}: ${t.name}: checkpoint shape [${t.shape}], model shape [${want.shape}]`);
    // Saving refuses non-finite state (DivergedError), but a checkpoint written by another
    // trainer, an older version or by hand proves nothing until its values are looked at.
    if (!allFinite(t.data)) throw new Error(`${what}: ${t.name} holds NaN or infinite values`);
  });
}

/** A plain loop: ~10x faster than every(Number.isFinite) on a 512 MB model. */
export function allFinite(data: Float32Array | Int32Array): boolean {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) return false;
  }
  return true;
}
