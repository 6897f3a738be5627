import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { claimSchema, type Claim } from "./manifest.js";
import { fsStoreIo, type StoreIo } from "./store-io.js";

/** A newer attempt owns the checkpoint directory: exit code 3, nothing committed. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

export const fenceFile = "fence";

const fenceSchema = z.strictObject({ claims: z.array(claimSchema) });

/**
 * The fence file holds every claim of the directory: {"claims": [{attempt, newestStepAtClaim,
 * resumedFromStep, claimedAt}, ...]} in claim order. Its newest claim owns the directory.
 *
 * A fencing token, not just a fence check: a trainer checks the fence before and after every
 * commit, but a zombie (an older attempt on a partitioned node) that stalls between its check
 * and its rename can still land a checkpoint. So each claim records the newest step listed just
 * before it, and loaders ignore any checkpoint of an older attempt past a later claim's
 * newestStepAtClaim (`isSuperseded`): a late commit is harmless even when it lands.
 * A restarted container of the same attempt (same number) goes on under the same claim.
 */
export class Fence {
  constructor(
    private readonly dir: string,
    readonly attempt: number,
    private readonly io: StoreIo = fsStoreIo,
  ) {}

  /** Claims the directory; `newestStepSeen` must be listed before this call (see above). */
  async claim(newestStepSeen: number | null): Promise<void> {
    const claims = await this.claims();
    this.refuseIfSuperseded(claims);
    if (claims.at(-1)?.attempt === this.attempt) return;
    await this.write([...claims, { attempt: this.attempt, newestStepAtClaim: newestStepSeen, resumedFromStep: null, claimedAt: new Date().toISOString() }]);
  }

  /** Records what this attempt resumed from (null: a fresh start) in its claim. */
  async recordResume(resumedFromStep: number | null): Promise<void> {
    const claims = await this.claims();
    this.refuseIfSuperseded(claims);
    const own = claims.at(-1);
    if (own?.attempt !== this.attempt || own.resumedFromStep === resumedFromStep) return;
    await this.write([...claims.slice(0, -1), { ...own, resumedFromStep }]);
  }

  async check(): Promise<void> {
    this.refuseIfSuperseded(await this.claims());
  }

  /** This attempt's current claim, for the manifest; undefined before claim(). */
  async ownClaim(): Promise<Claim | undefined> {
    return (await this.claims()).filter((c) => c.attempt === this.attempt).at(-1);
  }

  /** Every claim in order; [] when none. A legacy fence (one attempt number) reads as a claim with nothing known. */
  async claims(): Promise<Claim[]> {
    return readClaims(this.dir, this.io);
  }

  private refuseIfSuperseded(claims: Claim[]): void {
    const owner = Math.max(0, ...claims.map((c) => c.attempt));
    if (owner > this.attempt) {
      throw new FencedError(`attempt ${owner} owns ${this.dir}; this is attempt ${this.attempt}: refusing to commit`);
    }
  }

  private async write(claims: Claim[]): Promise<void> {
    const temp = join(this.dir, `${fenceFile}.${process.pid}`);
    const file = await open(temp, "w");
    try {
      await file.writeFile(`${JSON.stringify({ claims }, null, 1)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(this.dir, fenceFile));
    const dir = await open(this.dir, "r");
    await dir.sync().finally(() => dir.close());
  }
}

/** The claims in a directory's fence file (also for loaders that claim nothing). */
export async function readClaims(dir: string, io: StoreIo = fsStoreIo): Promise<Claim[]> {
  const path = join(dir, fenceFile);
  let text: string;
  try {
    text = await io.readText(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  if (/^\s*\d+\s*$/.test(text)) {
    // Written by the previous version: the owner only. What it saw is unknown, so it is taken
    // to have seen every step: it supersedes nothing.
    return [{ attempt: Number(text.trim()), newestStepAtClaim: Number.MAX_SAFE_INTEGER, resumedFromStep: null, claimedAt: new Date(0).toISOString() }];
  }
  let parsed;
  try {
    parsed = fenceSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new Error(`${path} is not a fence file (${JSON.stringify(text.slice(0, 80))}): remove it only if no other trainer uses this directory`);
  return parsed.data.claims;
}

/**
 * Whether a checkpoint of `step` written by `attempt` came from a superseded attempt after a
 * later attempt claimed the directory: such a checkpoint is never loaded, counted by retention
 * or allowed to displace a valid one.
 */
export function isSuperseded(step: number, attempt: number | null | undefined, claims: Claim[]): boolean {
  if (attempt === null || attempt === undefined) return false; // fencing off: nothing to compare
  return claims.some((k) => k.attempt > attempt && step > (k.newestStepAtClaim ?? -1));
}
