import type { Logger } from "../log.js";

/**
 * The seam a kind of checkpoint storage implements: one folder under backends/, which imports
 * from the core (this file, errors.ts, layout.ts, manifest.ts, slices.ts, ...) but never from
 * another backend or the store. A new backend provides:
 * - a CheckpointBackend: its objects under the names of layout.ts; a commit that makes a
 *   checkpoint visible whole or not at all, and only once `beforeVisible` (the fence check) has
 *   passed; content problems through `corrupt`, I/O as StorageError, a refusal as StorageRefusedError;
 * - a FenceStorage (`fenceStorage()`): one record replaced only if unchanged since it was read;
 * - its branch in open.ts, the one place that picks a backend from the environment.
 * The store keeps every policy (which checkpoint is newest, valid, superseded, kept or
 * quarantined), the Fence every claim rule: test/trainer/helpers/store-contract.ts and
 * ownership-contract.ts hold a backend to both.
 */

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/**
 * The read retry waits, of a directory's I/O errors and (any backend) of a listed checkpoint's
 * missing file: a fixed, bounded list (a flaky mount gets ~5 s), not a backoff policy of its
 * own. Tests pass [0, 0, 0] or [].
 */
export const defaultReadRetryDelaysMs: readonly number[] = [250, 1000, 4000];

/** One checkpoint (or the exported model) to commit: data files first, the manifest last. */
export interface BackendCommit {
  /** The checkpoint's name: a directory, or a key prefix, e.g. ckpt-00001200-a2. */
  name: string;
  files: { name: string; chunks: Uint8Array[] }[];
  /** The commit record, written last from the digests of the others. */
  manifest: (digests: Record<string, FileDigest>) => { name: string; bytes: Uint8Array };
  /** Last check before the manifest makes the checkpoint visible (the fence). */
  beforeVisible?: () => Promise<void>;
}

/** Makes the error for content that fails; `missing`: the file is not there at all. */
export type Corrupt = (why: string, missing?: boolean) => Error;

/** The fence's one small record, read and replaced whole. */
export interface FenceStorage {
  /** Where the fence lives, for messages. */
  readonly location: string;
  /** The text and a version to write against; undefined when there is no fence yet. */
  read(): Promise<{ text: string; version: string | undefined } | undefined>;
  /**
   * Replaces the fence. `expected` is what read() returned (undefined: there was none); a store
   * that can write conditionally refuses with FenceConflictError when another writer got there
   * first, and the caller reads again and retries.
   */
  write(text: string, expected: { version: string | undefined } | undefined): Promise<void>;
}

/** A conditional fence write lost to another writer: read the fence again and retry. */
export class FenceConflictError extends Error {
  override readonly name = "FenceConflictError";
}

/**
 * Where checkpoints live: a directory (rename makes a commit atomic) or an object store
 * (no rename: the manifest, written last, is the commit record). The CheckpointStore keeps
 * every policy (which checkpoint is newest, valid, superseded, kept or quarantined); a backend
 * only moves bytes, and reports content problems through `corrupt` and I/O problems as
 * StorageError (a store that refuses the trainer, such as refused credentials, as StorageRefusedError).
 */
export interface CheckpointBackend {
  /** The directory, or s3://bucket/prefix. */
  readonly location: string;
  /** How a checkpoint is named in logs, the summary and status: a path or an object URL. */
  pathOf(name: string): string;
  /**
   * The checkpoint name of a path this backend gave out (or a bare name). The directory
   * backend also takes a path to a checkpoint elsewhere (--resume-from) and reads it there.
   */
  nameOf(path: string): string;
  /** Makes the location usable (mkdir; for a bucket, proves it is reachable with these credentials). */
  ensure(): Promise<void>;
  /** Removes what a crash mid-commit left; restores what a crash left moved aside. */
  clearDebris(log: Logger): Promise<void>;
  /** The names of committed checkpoints (and of anything else a checkpoint name matches). */
  listNames(): Promise<string[]>;
  /**
   * One file of a checkpoint, of exactly `size.exact` bytes if given, at most `size.max`.
   * Missing, wrong-sized or not-a-file is content: `corrupt(why, missing)` is thrown, with
   * `missing` true when the file is not there at all (ENOENT, a 404).
   */
  readFile(name: string, file: string, size: { exact?: number; max: number }, corrupt: Corrupt): Promise<Buffer>;
  /**
   * A manifest for retention's look at a checkpoint's kind; undefined when it is missing or not
   * a file (content). An I/O error is a StorageError: retention must not guess "not final".
   */
  readManifestIfPresent(name: string, max: number): Promise<Buffer | undefined>;
  commit(req: BackendCommit): Promise<{ path: string; bytes: number; digests: Record<string, FileDigest> }>;
  remove(name: string): Promise<void>;
  /** Moves a checkpoint aside into quarantine/; returns where it went. */
  quarantine(name: string): Promise<string>;
  /** Names in quarantine/. */
  quarantined(): Promise<string[]>;
  /** Records one commit (the commits log); a failure here is the caller's to log, never fatal. */
  appendCommitLog(line: string): Promise<void>;
  /** The commits log, one JSON line per commit, oldest first. */
  readCommitLog(): Promise<string[]>;
  /** The fence record as the store reads it (with the backend's retries). */
  readFence(): Promise<string | undefined>;
  /** The fence's record, for a Fence to claim the location with. */
  fenceStorage(): FenceStorage;
}
