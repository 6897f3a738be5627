import { z } from "zod";
import { FenceConflictError, type FenceStorage } from "./backend.js";
import { FencedError } from "./errors.js";
import { claimSchema, type Claim } from "./manifest.js";
import { refuseIfOwnedByAnother, type RunOwner } from "./owner.js";

const fenceSchema = z.strictObject({ claims: z.array(claimSchema) });

/** A conditional write lost this many times in a row means something else rewrites the fence in a loop. */
const maxConflicts = 20;

/**
 * The fence holds every claim of the checkpoint location: {"claims": [{attempt,
 * newestStepAtClaim, resumedFromStep, claimedAt, owner}, ...]} in claim order. Its newest claim owns it.
 * Every claim names its run (owner.ts): a trainer of another run is refused before it writes.
 *
 * A fencing token, not just a fence check: a trainer checks the fence before and after every
 * commit, but a zombie (an older attempt on a partitioned node) that stalls between its check
 * and its commit can still land a checkpoint. So each claim records the newest step listed just
 * before it, and loaders ignore any checkpoint of an older attempt past a later claim's
 * newestStepAtClaim (`isSuperseded`): a late commit is harmless even when it lands.
 * A restarted container of the same attempt (same number) goes on under the same claim.
 *
 * Every change is a conditional write, so two claimers cannot both win: on a directory, the
 * exclusive creation of the next version file (fence-directory.ts); on an object store, one
 * object replaced by a conditional put (If-None-Match / If-Match). The loser reads again, and
 * finds itself fenced or refused.
 */
export class Fence {
  /** This trainer's run; undefined: started without RESUMABLE_RUN (owner.ts says what it may use). */
  readonly owner: RunOwner | undefined;

  /** `storage`: the backend's fence record (CheckpointBackend.fenceStorage). */
  constructor(
    private readonly storage: FenceStorage,
    readonly attempt: number,
    opts: { owner?: RunOwner } = {},
  ) {
    this.owner = opts.owner;
  }

  /** Claims the location; `newestStepSeen` must be listed before this call (see above). */
  async claim(newestStepSeen: number | null): Promise<void> {
    await this.update((claims) => {
      const last = claims.at(-1);
      if (last?.attempt === this.attempt) {
        // A restarted container of this attempt goes on under its claim (which now names its run).
        return last.owner !== undefined || this.owner === undefined ? undefined : [...claims.slice(0, -1), { ...last, owner: this.owner }];
      }
      const claim: Claim = { attempt: this.attempt, newestStepAtClaim: newestStepSeen, resumedFromStep: null, claimedAt: new Date().toISOString() };
      return [...claims, this.owner === undefined ? claim : { ...claim, owner: this.owner }];
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
    this.refuse(await this.claims());
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
      this.refuse(claims);
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

  /** Another run's location is a config error (LocationOwnedError); a newer attempt's, FencedError. */
  private refuse(claims: Claim[]): void {
    refuseIfOwnedByAnother(this.storage.location.replace(/\/fence$/, ""), claims, this.owner);
    const owner = Math.max(0, ...claims.map((c) => c.attempt));
    if (owner > this.attempt) {
      throw new FencedError(`attempt ${owner} owns ${this.storage.location.replace(/\/fence$/, "")}; this is attempt ${this.attempt}: refusing to commit`);
    }
  }
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
