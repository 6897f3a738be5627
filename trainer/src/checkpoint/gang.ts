import { z } from "zod";

// A gang's checkpoint: rank 0 writes it for every rank (replicated data-parallel: the weights
// once), with one part per rank saying which weights that rank held at the step. The parts
// go into the same commit as the tensors, in gang.json, covered by the manifest's sha256s: a
// checkpoint whose parts are missing, of another step, or of other weights is never loaded.

export const gangFile = "gang.json";

/** What each rank sends rank 0 at a save (the gather), and what gang.json keeps of it. */
export const gangPartSchema = z.strictObject({
  rank: z.int().nonnegative(),
  step: z.int().nonnegative(),
  worldSize: z.int().min(1),
  /** weightsSha256 of the weights the rank holds at `step` (checkpoint/snapshot.ts). */
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type GangPart = z.infer<typeof gangPartSchema>;

/** gang.json: the gang's size and every rank's part, by rank. */
const gangRecordSchema = z.strictObject({ worldSize: z.int().min(2), parts: z.array(gangPartSchema) });
export type GangRecord = z.infer<typeof gangRecordSchema>;

/** Rank 0 refused to commit a gang save: a part is missing or disagrees with its own. */
export class GangDisagreementError extends Error {
  override readonly name = "GangDisagreementError";
}

/**
 * What is wrong with a gang's parts for a checkpoint of `step` whose weights hash to
 * `weightsSha256`, or undefined: exactly one part per rank, each of this step and world size,
 * each digest the checkpoint's own.
 */
export function gangProblem(record: GangRecord, expected: { step: number; weightsSha256: string }): string | undefined {
  const { worldSize, parts } = record;
  for (let rank = 0; rank < worldSize; rank++) {
    const mine = parts.filter((p) => p.rank === rank);
    if (mine.length !== 1) return `${mine.length === 0 ? "no" : mine.length} parts of rank ${rank}`;
    const part = mine[0]!;
    if (part.step !== expected.step) return `rank ${rank}'s part is of step ${part.step}, not ${expected.step}`;
    if (part.worldSize !== worldSize) return `rank ${rank}'s part is of a world of ${part.worldSize}, not ${worldSize}`;
    if (part.weightsSha256 !== expected.weightsSha256) return `rank ${rank}'s weights (${part.weightsSha256.slice(0, 12)}…) differ from the checkpoint's (${expected.weightsSha256.slice(0, 12)}…)`;
  }
  if (parts.length !== worldSize) return `${parts.length} parts for a world of ${worldSize}`;
  return undefined;
}

export function encodeGangRecord(record: GangRecord): Uint8Array {
  return Buffer.from(`${JSON.stringify(gangRecordSchema.parse(record), null, 2)}\n`);
}

/** gang.json's content; throws an Error saying what is wrong. */
export function parseGangRecord(bytes: Uint8Array): GangRecord {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Error(`${gangFile} is not JSON: ${(err as Error).message}`);
  }
  const parsed = gangRecordSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${gangFile}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}
