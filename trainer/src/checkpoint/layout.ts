/**
 * The names in a checkpoint location, the same on every backend: the store lists, loads and
 * reports by them, and each backend lays them out as its own (a directory's entries, a bucket's
 * keys under the prefix).
 */

/** ckpt-00000500 (fencing off) or ckpt-00000500-a2: written by attempt 2. */
export const checkpointName = /^ckpt-(\d{8,})(?:-a(\d+))?$/;

/**
 * Attempt-qualified, so a zombie's late commit can never replace a valid checkpoint of the same
 * step written by its successor.
 */
export function checkpointDirName(step: number, attempt?: number | null): string {
  const base = `ckpt-${String(step).padStart(8, "0")}`;
  return attempt === undefined || attempt === null ? base : `${base}-a${attempt}`;
}

/** Where corrupt checkpoints are set aside, never deleted. */
export const quarantineDir = "quarantine";
/** One JSON line per commit, zombies' included: what tests and people read to tell who wrote what. */
export const commitLogFile = "commits.log";
/** The fence's name: a directory's file (and the stem of its versions), a bucket's object. */
export const fenceFile = "fence";
