import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.js";
import { ownerSchema } from "./owner.js";

/**
 * 2: strict schema, the writer's fencing claim and a self-digest; its owner is optional (added
 * later without a new version: a v2 manifest without one means what it always meant). 1 (no
 * digest) still loads: its files are covered by their sha256s, and checking its fields costs nothing.
 */
export const formatVersion = 2;
export const manifestName = "manifest.json";
export const modelFile = "model.safetensors";
export const optimizerFile = "optimizer.safetensors";
/** A manifest is a few kB (lossHistory is capped); anything near this is not one of ours. */
export const maxManifestBytes = 16 * 1024 * 1024;

const u32 = z.int().min(0).max(0xffffffff);
const count = z.int().nonnegative();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** A claim of the checkpoint directory by an attempt (see fence.ts): the fencing token. */
export const claimSchema = z.strictObject({
  attempt: z.int().min(1),
  /** The newest checkpoint step listed (not superseded) just before the claim; null: none. */
  newestStepAtClaim: count.nullable(),
  /** What the attempt resumed from, once it has; null: fresh start or not yet resumed. */
  resumedFromStep: count.nullable(),
  claimedAt: z.iso.datetime(),
  /** The run that claimed (owner.ts); absent: claimed before owners were recorded, or by a trainer without RESUMABLE_RUN. */
  owner: ownerSchema.optional(),
});
export type Claim = z.infer<typeof claimSchema>;

/**
 * Everything but the tensors: where training stands, how to continue it identically, and what
 * produced it. Parsed and checked as data, never evaluated.
 */
const bodyFields = {
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
  /** ISO-8601 as toISOString writes it: a flipped byte fails here, not later in a Date. */
  createdAt: z.iso.datetime(),
  /** The attempt that wrote it (RESUMABLE_ATTEMPT); null with fencing off. */
  attempt: z.int().min(1).nullable(),
  /** final: written at completion or preemption; kept by retention beyond `keep`. */
  kind: z.enum(["periodic", "final"]),
  /**
   * The ranks of the gang that wrote it (gang.ts); absent: one pod, as before gangs. The state
   * is replicated, so a gang of any size loads it; the size is kept for the log and for
   * elastic gangs later.
   */
  worldSize: z.int().min(2).optional(),
  files: z.record(z.string(), z.object({ sha256: sha256Hex, bytes: count })),
};

const manifestV1Schema = z.object({ formatVersion: z.literal(1), ...bodyFields });

/** manifest.json: the last file written into a checkpoint, with the sha256 of every other file. */
export const manifestSchema = z.strictObject({
  formatVersion: z.literal(formatVersion),
  ...bodyFields,
  /** The writer's claim as it stood at the commit (forensics: which attempt, resumed from what). */
  claim: claimSchema.nullable(),
  /**
   * The run that wrote it, also with fencing off (no claim). Absent as in a claim. Recorded, not
   * checked on load: a checkpoint copied from another run's location is a deliberate start.
   */
  owner: ownerSchema.optional(),
  /** sha256 of the canonical JSON of every other field: a flipped bit anywhere is caught. */
  digest: sha256Hex,
});

export type Manifest = z.infer<typeof manifestSchema> | (z.infer<typeof manifestV1Schema> & { claim?: undefined; owner?: undefined; digest?: undefined });
export type UnsealedManifest = Omit<z.infer<typeof manifestSchema>, "digest">;

export function manifestDigest(unsealed: UnsealedManifest | Omit<Manifest, "digest">): string {
  const { digest: _, ...rest } = unsealed as Manifest;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

export function sealManifest(unsealed: UnsealedManifest): z.infer<typeof manifestSchema> {
  return { ...unsealed, digest: manifestDigest(unsealed) };
}

/** Parses and verifies a manifest (either format); throws an Error saying what is wrong. */
export function parseManifest(raw: unknown): Manifest {
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  const schema = version === 1 ? manifestV1Schema : manifestSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "(manifest)"}: ${i.message}`).join("; "));
  const manifest = parsed.data as Manifest;
  if (manifest.formatVersion === formatVersion && manifestDigest(manifest) !== manifest.digest) {
    throw new Error("manifest digest mismatch: its content changed after it was written");
  }
  return manifest;
}

export const lossHistoryLength = 1000;
