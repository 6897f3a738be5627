import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { FenceConflictError, type FenceStorage } from "./backend.js";
import { claimSchema, type Claim } from "./manifest.js";
import { fsStoreIo, type StoreIo } from "./store-io.js";

/** A newer attempt owns the checkpoint directory: exit code 3, nothing committed. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

export const fenceFile = "fence";

const fenceSchema = z.strictObject({ claims: z.array(claimSchema) });

/** A conditional write lost this many times in a row means something else rewrites the fence in a loop. */
const maxConflicts = 20;

/**
 * The fence holds every claim of the checkpoint location: {"claims": [{attempt,
 * newestStepAtClaim, resumedFromStep, claimedAt}, ...]} in claim order. Its newest claim owns it.
 *
 * A fencing token, not just a fence check: a trainer checks the fence before and after every
 * commit, but a zombie (an older attempt on a partitioned node) that stalls between its check
 * and its commit can still land a checkpoint. So each claim records the newest step listed just
 * before it, and loaders ignore any checkpoint of an older attempt past a later claim's
 * newestStepAtClaim (`isSuperseded`): a late commit is harmless even when it lands.
 * A restarted container of the same attempt (same number) goes on under the same claim.
 *
 * On a directory the fence is a file replaced by rename; on an object store, one object
 * replaced by a conditional put (If-None-Match / If-Match), so two claimers cannot both win.
 */
export class Fence {
  private readonly storage: FenceStorage;

  constructor(
    where: string | FenceStorage,
    readonly attempt: number,
    io: StoreIo = fsStoreIo,
  ) {
    this.storage = typeof where === "string" ? directoryFenceStorage(where, io) : where;
  }

  /** Claims the location; `newestStepSeen` must be listed before this call (see above). */
  async claim(newestStepSeen: number | null): Promise<void> {
    await this.update((claims) => {
      if (claims.at(-1)?.attempt === this.attempt) return undefined;
      return [...claims, { attempt: this.attempt, newestStepAtClaim: newestStepSeen, resumedFromStep: null, claimedAt: new Date().toISOString() }];
    });
  }

  /** Records what this attempt resumed from (null: a fresh start) in its claim. */
  async recordResume(resumedFromStep: number | null): Promise<void> {
    await this.update((claims) => {
      const own = claims.at(-1);
      if (own?.attempt !== this.attempt || own.resumedFromStep === resumedFromStep) return undefined;
      return [...claims.slice(0, -1), { ...own, resumedFromStep }];
    });
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
    const read = await this.storage.read();
    return read ? parseClaims(read.text, this.storage.location) : [];
  }

  /** Read, refuse if superseded, change, write back conditionally; re-read on a lost race. */
  private async update(change: (claims: Claim[]) => Claim[] | undefined): Promise<void> {
    for (let conflicts = 0; ; conflicts++) {
      const read = await this.storage.read();
      const claims = read ? parseClaims(read.text, this.storage.location) : [];
      this.refuseIfSuperseded(claims);
      const next = change(claims);
      if (!next) return;
      try {
        await this.storage.write(`${JSON.stringify({ claims: next }, null, 1)}\n`, read && { version: read.version });
        return;
      } catch (err) {
        if (!(err instanceof FenceConflictError) || conflicts >= maxConflicts) throw err;
      }
    }
  }

  private refuseIfSuperseded(claims: Claim[]): void {
    const owner = Math.max(0, ...claims.map((c) => c.attempt));
    if (owner > this.attempt) {
      throw new FencedError(`attempt ${owner} owns ${this.storage.location.replace(/\/fence$/, "")}; this is attempt ${this.attempt}: refusing to commit`);
    }
  }
}

/** The fence as a file in the directory, replaced by an fsynced temp file and a rename. */
export function directoryFenceStorage(dir: string, io: StoreIo = fsStoreIo): FenceStorage {
  return {
    location: join(dir, fenceFile),
    async read() {
      try {
        return { text: await io.readText(join(dir, fenceFile)), version: undefined };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async write(text) {
      const temp = join(dir, `${fenceFile}.${process.pid}`);
      const file = await open(temp, "w");
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, join(dir, fenceFile));
      const handle = await open(dir, "r");
      await handle.sync().finally(() => handle.close());
    },
  };
}

/** The claims in a directory's fence file (also for loaders that claim nothing). */
export async function readClaims(dir: string, io: StoreIo = fsStoreIo): Promise<Claim[]> {
  const read = await directoryFenceStorage(dir, io).read();
  return read ? parseClaims(read.text, join(dir, fenceFile)) : [];
}

/** A fence record's claims; `where` names it in the error for a record that is not a fence. */
export function parseClaims(text: string, where: string): Claim[] {
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
  if (!parsed?.success) throw new Error(`${where} is not a fence file (${JSON.stringify(text.slice(0, 80))}): remove it only if no other trainer uses this directory`);
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
