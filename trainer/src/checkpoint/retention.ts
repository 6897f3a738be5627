import type { Logger } from "../log.js";
import type { CheckpointBackend } from "./backend.js";
import { maxManifestBytes } from "./manifest.js";

/** What kindOf says of a listed checkpoint whose manifest is not there (see applyRetention). */
const manifestAbsent = Symbol("manifest absent");

/**
 * Keeps the newest `keep` checkpoints plus the newest final one. Runs only after a commit,
 * so an old checkpoint is never deleted before a newer one exists. Superseded checkpoints
 * (a zombie's late commits) neither count towards `keep` nor are deleted here: they cannot
 * push a valid one out, and they stay as evidence. Every kind is read before anything is
 * deleted: a manifest that cannot be read for I/O (not content) stops the round, so a final
 * checkpoint is never deleted for looking "not final". A listed checkpoint whose manifest is
 * not there is kept this round: a flapping mount or a lagging store says nothing about its
 * kind, and one that truly lacks it is quarantined by the next load, not deleted here.
 *
 * `trusted`: the listed checkpoints no superseded attempt wrote, newest first (the store's list).
 */
export async function applyRetention(backend: CheckpointBackend, trusted: readonly { path: string }[], keep: number, log: Logger): Promise<void> {
  let finalKept = (await Promise.all(trusted.slice(0, keep).map((c) => kindOf(backend, c.path)))).includes("final");
  const doomed: { path: string }[] = [];
  for (const c of trusted.slice(keep)) {
    const kind = await kindOf(backend, c.path);
    if (kind === manifestAbsent) log.warn({ checkpoint: c.path }, "retention: its manifest is not there; kept this round");
    else if (!finalKept && kind === "final") finalKept = true;
    else doomed.push(c);
  }
  for (const c of doomed) {
    await backend.remove(backend.nameOf(c.path));
    log.debug({ checkpoint: c.path }, "retention: deleted");
  }
}

/** A checkpoint's kind; manifestAbsent when its manifest is not there, undefined when unparsable. I/O errors are thrown. */
async function kindOf(backend: CheckpointBackend, path: string): Promise<string | typeof manifestAbsent | undefined> {
  const bytes = await backend.readManifestIfPresent(backend.nameOf(path), maxManifestBytes);
  if (bytes === undefined) return manifestAbsent;
  try {
    return (JSON.parse(bytes.toString("utf8")) as { kind?: string } | null)?.kind;
  } catch {
    return undefined; // content: this one is no final checkpoint to keep
  }
}
