import { createHash } from "node:crypto";
import type { NamedTensor } from "../safetensors/format.js";
import type { GangRecord } from "./gang.js";
import type { UnsealedManifest } from "./manifest.js";

/**
 * Training state copied to host memory at a step boundary: training may go on changing the
 * tensors while this is written in the background.
 */
export interface TrainingSnapshot {
  /** Model weights in the model's layer order, under stable names (`hidden/kernel`). */
  weights: NamedTensor[];
  /** Optimizer tensors (`hidden/kernel/m`, ...), in the optimizer's order. */
  optimizerTensors: NamedTensor[];
  /** The manifest minus what only the writer knows (files, createdAt, attempt, claim, world size). */
  meta: Omit<UnsealedManifest, "files" | "createdAt" | "attempt" | "formatVersion" | "claim" | "owner" | "worldSize">;
  /** A gang's save: every rank's part, gathered by rank 0 (gang.ts); absent for one pod. */
  gang?: GangRecord;
}

/**
 * The canonical weights hash in summaries: sha256 over each weight's raw little-endian float32
 * bytes, in the model's layer order (the order of model.safetensors), nothing else.
 */
export function weightsSha256(weights: NamedTensor[]): string {
  const hash = createHash("sha256");
  for (const w of weights) hash.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return hash.digest("hex");
}
