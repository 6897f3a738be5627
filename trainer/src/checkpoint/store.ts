import { setTimeout as sleep } from "node:timers/promises";
import { encodeSafetensors } from "../safetensors/format.js";
import type { Logger } from "../log.js";
import { defaultReadRetryDelaysMs, type CheckpointBackend } from "./backend.js";
import { asStorageError, CheckpointFileMissingError, CheckpointsUnusableError, CorruptCheckpointError, FencedError } from "./errors.js";
import { isSuperseded, parseClaims, type Fence } from "./fence.js";
import { checkpointDirName, checkpointName, commitLogFile, quarantineDir } from "./layout.js";
import { formatVersion, manifestName, modelFile, optimizerFile, sealManifest, type Claim, type Manifest } from "./manifest.js";
import { refuseIfOwnedByAnother, type RunOwner } from "./owner.js";
import { applyRetention } from "./retention.js";
import { encodeGangRecord, gangFile, gangProblem, GangDisagreementError } from "./gang.js";
import { weightsSha256, type TrainingSnapshot } from "./snapshot.js";
import { readVerified, type LoadedCheckpoint } from "./verify.js";

export { CorruptCheckpointError } from "./errors.js";

export interface CommittedCheckpoint {
  step: number;
  path: string;
  bytes: number;
  saveSeconds: number;
  kind: Manifest["kind"];
  time: Date;
}

export interface ListedCheckpoint {
  step: number;
  /** From the directory name; undefined for names without one (fencing off, or the previous version). */
  attempt: number | undefined;
  path: string;
}

export interface StoreOptions {
  /** Where the checkpoints are: a backend that open.ts (or a test) picked and made. */
  backend: CheckpointBackend;
  keep: number;
  log: Logger;
  /** The run this trainer belongs to (the fence's too), recorded in manifests; undefined: none named. */
  owner?: RunOwner;
  /** undefined: fencing off (no RESUMABLE_ATTEMPT). */
  fence: Fence | undefined;
  /** The waits before a listed checkpoint with a missing file is read again (the directory backend takes its own for I/O errors). */
  readRetryDelaysMs?: readonly number[];
}

/**
 * The checkpoints of one location, on whichever backend holds them: listing, the resume search
 * over verified checkpoints (verify.ts), atomic saving, retention (retention.ts), quarantine.
 * Loading tells content from storage: content that fails verification is quarantined (renamed
 * aside, never deleted) and the previous checkpoint tried; an I/O error is retried, then
 * reported as a StorageError and nothing is quarantined.
 */
export class CheckpointStore {
  readonly backend: CheckpointBackend;

  constructor(private readonly opts: StoreOptions) {
    this.backend = opts.backend;
  }

  /** The directory or s3://bucket/prefix. */
  get dir(): string {
    return this.backend.location;
  }

  /**
   * Makes the location usable, refuses it if another run owns it (LocationOwnedError, before
   * anything is claimed or written: even with fencing off), claims the fence (recording the
   * newest step listed before the claim), and clears what a crash mid-commit left
   * (CheckpointBackend.clearDebris). The fence checks the owner again as it claims: of two runs
   * that start at once, the one that loses the claim is refused then.
   */
  async prepare(): Promise<void> {
    await this.backend.ensure();
    const claims = await this.claims();
    refuseIfOwnedByAnother(this.dir, claims, this.opts.owner);
    if (this.opts.fence) {
      const trusted = await this.trusted(claims);
      await this.fenceOp(() => this.opts.fence!.claim(trusted[0]?.step ?? null), "write");
    }
    await this.backend.clearDebris(this.opts.log);
  }

  /** Committed checkpoint directories, newest first (of one step, the newer attempt's first). */
  async list(): Promise<ListedCheckpoint[]> {
    const entries = await this.backend.listNames();
    return entries
      .flatMap((name) => {
        const m = checkpointName.exec(name);
        return m ? [{ step: Number(m[1]), attempt: m[2] === undefined ? undefined : Number(m[2]), path: this.backend.pathOf(name) }] : [];
      })
      .filter((c) => Number.isSafeInteger(c.step) && (c.attempt === undefined || Number.isSafeInteger(c.attempt)))
      .sort((a, b) => b.step - a.step || (b.attempt ?? 0) - (a.attempt ?? 0));
  }

  /** Listed checkpoints that no superseded attempt wrote past a later claim, newest first. */
  private async trusted(claims: Claim[]): Promise<ListedCheckpoint[]> {
    return (await this.list()).filter((c) => !isSuperseded(c.step, c.attempt, claims));
  }

  /** The fence's claims; [] when nothing claimed the directory. */
  async claims(): Promise<Claim[]> {
    const text = await this.backend.readFence();
    return text === undefined ? [] : parseClaims(text, `${this.dir}/fence`);
  }

  /** Names in quarantine/, i.e. checkpoints found corrupt before. */
  async quarantined(): Promise<string[]> {
    return this.backend.quarantined();
  }

  /**
   * The newest checkpoint that validates and that `accept` (the caller's restore) takes.
   * Checkpoints of a superseded attempt past a later claim are skipped, not quarantined.
   * Invalid ones, and ones `accept` rejects with CorruptCheckpointError, are quarantined so
   * the next start does not trip over them again, and the previous one is tried. A
   * StorageError (or any other error) ends the search: nothing is quarantined for it.
   */
  async loadNewestValid(accept?: (loaded: LoadedCheckpoint) => Promise<void>): Promise<LoadedCheckpoint | undefined> {
    const claims = await this.claims();
    for (const c of await this.list()) {
      if (isSuperseded(c.step, c.attempt, claims)) {
        this.opts.log.warn({ checkpoint: c.path }, "ignoring a checkpoint a superseded attempt committed after a later attempt's claim");
        continue;
      }
      try {
        const loaded = await this.loadListed(c.path);
        if (isSuperseded(loaded.manifest.step, loaded.manifest.attempt, claims)) {
          this.opts.log.warn({ checkpoint: c.path }, "ignoring a checkpoint a superseded attempt committed after a later attempt's claim");
          continue;
        }
        await accept?.(loaded);
        return loaded;
      } catch (err) {
        if (!(err instanceof CorruptCheckpointError)) throw err;
        const aside = await this.quarantine(c.path);
        this.opts.log.warn({ checkpoint: c.path, quarantinedTo: aside, reason: err.message }, "corrupt checkpoint quarantined; trying the previous one");
      }
    }
    return undefined;
  }

  /**
   * load() of a checkpoint just listed. A file that is not there may be a flapping mount or a
   * store whose reads lag its listing: the checkpoint is read again after each of the read
   * retry waits before it counts as corrupt, so one that reads back complete is never quarantined.
   */
  private async loadListed(path: string): Promise<LoadedCheckpoint> {
    const delays = this.opts.readRetryDelaysMs ?? defaultReadRetryDelaysMs;
    for (let retry = 0; ; retry++) {
      try {
        return await this.load(path);
      } catch (err) {
        const delay = delays[retry];
        if (!(err instanceof CheckpointFileMissingError) || delay === undefined) throw err;
        this.opts.log.warn({ checkpoint: path, reason: err.message, retry: retry + 1, delayMs: delay }, "a listed checkpoint's file is not there; reading it again");
        await sleep(delay);
      }
    }
  }

  /**
   * Where to resume: the newest valid checkpoint, or undefined for a fresh start. Refuses
   * (CheckpointsUnusableError) when checkpoints exist, or were quarantined before, and none
   * loads, unless a fresh start is explicitly allowed: that would silently redo all the work.
   */
  async resumePoint(opts: { allowFreshStart: boolean; accept?: (loaded: LoadedCheckpoint) => Promise<void> }): Promise<LoadedCheckpoint | undefined> {
    const loaded = await this.loadNewestValid(opts.accept);
    if (loaded) return loaded;
    const quarantined = await this.quarantined();
    if (quarantined.length === 0) return undefined;
    const message =
      `${this.dir}: checkpoints exist but none loads (${quarantined.length} in ${quarantineDir}/: ${quarantined.slice(-5).join(", ")}); ` +
      "refusing to start from step 0. Inspect them, or allow a fresh start (spec.checkpoint.allowFreshStart, RESUMABLE_ALLOW_FRESH_START=true).";
    if (!opts.allowFreshStart) throw new CheckpointsUnusableError(message);
    this.opts.log.warn({ quarantined }, "no checkpoint loads; starting from step 0 because a fresh start is allowed");
    return undefined;
  }

  /**
   * Reads and verifies one checkpoint (verify.ts): content problems throw
   * CorruptCheckpointError, I/O StorageError.
   */
  load(path: string): Promise<LoadedCheckpoint> {
    return readVerified(this.backend, path);
  }

  /**
   * Commits a snapshot atomically, then applies retention (whose failure is logged, not the
   * save's: the checkpoint is committed). The fence is checked before and after the rename: a
   * zombie that stalled in between still lands its checkpoint, but it is superseded (ignored
   * by every loader) and the zombie gets FencedError all the same.
   */
  async save(snapshot: TrainingSnapshot, attempt: number | undefined): Promise<CommittedCheckpoint> {
    const started = performance.now();
    const step = snapshot.meta.step;
    const fence = this.opts.fence;
    const claim = (await fence?.ownClaim()) ?? null;
    const name = checkpointDirName(step, attempt);
    const gang = snapshot.gang;
    // Before anything is written: a gang whose ranks disagree has nothing worth committing.
    const disagreement = gang && gangProblem(gang, { step, weightsSha256: weightsSha256(snapshot.weights) });
    if (disagreement) throw new GangDisagreementError(`not committing step ${step}: ${disagreement}`);
    let committed: { path: string; bytes: number };
    try {
      committed = await this.backend.commit({
        name,
        files: [
          { name: modelFile, chunks: encodeSafetensors(snapshot.weights, { format: "pt", step: String(step) }) },
          { name: optimizerFile, chunks: encodeSafetensors(snapshot.optimizerTensors, { optimizer: snapshot.meta.optimizer.name }) },
          ...(gang ? [{ name: gangFile, chunks: [encodeGangRecord(gang)] }] : []),
        ],
        manifest: (files) => {
          const manifest = sealManifest({
            formatVersion,
            ...snapshot.meta,
            ...(gang && { worldSize: gang.worldSize }),
            createdAt: new Date().toISOString(),
            attempt: attempt ?? null,
            claim,
            ...(this.opts.owner && { owner: this.opts.owner }),
            files,
          });
          return { name: manifestName, bytes: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) };
        },
        beforeVisible: fence ? () => fence.check() : undefined,
      });
    } catch (err) {
      // A successor's start-up removes incomplete commits: a zombie's commit then fails on a
      // missing file, and the truth is that it is fenced.
      if (!(err instanceof FencedError)) await this.fenceOp(() => fence?.check() ?? Promise.resolve());
      throw err;
    }
    const fencedAfter = fence ? await this.fenceOp(() => fence.check()).then(() => undefined, (err: Error) => err) : undefined;
    await this.backend
      .appendCommitLog(JSON.stringify({ dir: name, step, attempt: attempt ?? null, kind: snapshot.meta.kind, committedAt: new Date().toISOString(), fencedAfterRename: fencedAfter !== undefined }))
      .catch((err: Error) => this.opts.log.warn({ reason: err.message }, `cannot append to ${commitLogFile}`));
    if (fencedAfter) throw fencedAfter;
    // The checkpoint is committed whatever retention does; what it failed to delete now, it
    // finds in the next listing and deletes after the next commit.
    await this.applyRetention().catch((err: Error) => this.opts.log.warn({ reason: err.message }, "retention failed; the save is committed, retention is retried after the next one"));
    return { step, path: committed.path, bytes: committed.bytes, saveSeconds: (performance.now() - started) / 1000, kind: snapshot.meta.kind, time: new Date() };
  }

  /** Retention (retention.ts) over the checkpoints no superseded attempt wrote. */
  async applyRetention(): Promise<void> {
    await applyRetention(this.backend, await this.trusted(await this.claims()), this.opts.keep, this.opts.log);
  }

  /** The commits log, one parsed line per commit, oldest first. */
  async commitLog(): Promise<Record<string, unknown>[]> {
    return (await this.backend.readCommitLog()).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  private quarantine(path: string): Promise<string> {
    return this.backend.quarantine(this.backend.nameOf(path));
  }

  /** A fence read or write; an errno error (the directory's fence) becomes a StorageError. */
  private async fenceOp<T>(op: () => Promise<T>, what: "read" | "write" = "read"): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw asStorageError(err, `${this.dir}/fence`, what);
    }
  }
}
