import { z } from "zod";

export const formatVersion = 1;
export const manifestName = "manifest.json";
export const modelFile = "model.safetensors";
export const optimizerFile = "optimizer.safetensors";

const u32 = z.int().min(0).max(0xffffffff);
const count = z.int().nonnegative();

/**
 * manifest.json: the last file written into a checkpoint, with the sha256 of every other file.
 * Everything but the tensors: where training stands, how to continue it identically, and what
 * produced it. Parsed and checked as data, never evaluated.
 */
export const manifestSchema = z.object({
  formatVersion: z.literal(formatVersion),
  step: count,
  epoch: count,
  /** Examples of the current epoch already consumed. */
  positionInEpoch: count,
  /** Data-order PRNG (xoshiro128**) state at the start of the current epoch. */
  prngState: z.tuple([u32, u32, u32, u32]),
  /** How per-step dropout seeds are derived (they are recomputed, not stored). */
  dropoutSeeds: z.string(),
  /** [step, loss] of the most recent steps (at most lossHistoryLength); null for a non-finite loss. */
  lossHistory: z.array(z.tuple([count, z.number().nullable()])),
  /** The config as validated; checked against the new one on resume. */
  config: z.record(z.string(), z.unknown()),
  configHash: z.string(),
  optimizer: z.object({ name: z.string(), iterations: count }),
  backend: z.string(),
  createdAt: z.string(),
  attempt: z.int().nullable(),
  /** final: written at completion or preemption; kept by retention beyond `keep`. */
  kind: z.enum(["periodic", "final"]),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: count })),
});

export type Manifest = z.infer<typeof manifestSchema>;

export const lossHistoryLength = 1000;
