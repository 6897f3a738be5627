/**
 * What can go wrong with the checkpoint directory, one class per cause, because each cause
 * has its own remedy: corrupt content is set aside and the previous checkpoint used; an I/O
 * error is the storage's fault and retried by a new attempt (nothing is quarantined for it);
 * checkpoints that exist but none loads stop the run rather than silently start from 0.
 */

/** Content that was read and failed verification: quarantined, never loaded. */
export class CorruptCheckpointError extends Error {
  override readonly name: string = "CorruptCheckpointError";
}

/**
 * A file of a listed checkpoint is not there. A flapping mount (NFS, gcsfuse) or a store whose
 * reads lag its listing shows this for a while, so the loader reads the checkpoint again before
 * treating it as corrupt.
 */
export class CheckpointFileMissingError extends CorruptCheckpointError {
  override readonly name = "CheckpointFileMissingError";
}

/** An I/O error on checkpoint storage that outlasted the retries: exit 4, a new attempt retries. */
export class StorageError extends Error {
  override readonly name = "StorageError";
  constructor(
    readonly path: string,
    /** errno name, e.g. EACCES; undefined when the system gave none. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The checkpoint store refused the trainer (unknown key, wrong secret, access denied, no such
 * bucket) or no credentials are configured: exit 2 with failure kind "storageRefused". Only a
 * change to the run's storage settings (spec.checkpoint.storage) fixes it; a credentials
 * source that times out or fails is I/O (StorageError), not this.
 */
export class StorageRefusedError extends Error {
  override readonly name = "StorageRefusedError";
  constructor(
    /** The store's location or the object refused. */
    readonly path: string,
    /** The store's own code, e.g. InvalidAccessKeyId. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A newer attempt owns the checkpoint directory: exit code 3, nothing committed. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

/** Checkpoints exist (listed or in quarantine/) but none loads: exit 5 unless fresh starts are allowed. */
export class CheckpointsUnusableError extends Error {
  override readonly name = "CheckpointsUnusableError";
}

/**
 * errnos that describe the content of the directory rather than the storage: a listed file that
 * is missing, a symlink (O_NOFOLLOW gives ELOOP), a directory where a file should be. Anything
 * else (EACCES, EIO, EMFILE, ENOSPC, ESTALE, ...) is an I/O error.
 */
const contentErrnos = new Set(["ENOENT", "ELOOP", "EISDIR", "ENOTDIR", "ENXIO"]);

export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isContentErrno(err: unknown): boolean {
  const code = errnoOf(err);
  return code !== undefined && contentErrnos.has(code);
}

/** An errno error as a StorageError naming the path; anything else unchanged. */
export function asStorageError(err: unknown, path: string, what: string, retries?: number): unknown {
  const code = errnoOf(err);
  if (err instanceof StorageError || err instanceof FencedError || code === undefined) return err;
  const at = (err as NodeJS.ErrnoException).path ?? path;
  const tried = retries ? ` after ${retries} retries` : "";
  return new StorageError(at, code, `checkpoint storage: cannot ${what} ${at}: ${code}${tried} (${(err as Error).message})`);
}
