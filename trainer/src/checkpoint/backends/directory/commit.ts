import { createHash } from "node:crypto";
import { join } from "node:path";
import type { FileDigest } from "../../backend.js";
import { fsCommitIo, type CommitIo } from "./io.js";

export interface CommitRequest {
  parent: string;
  /** Final directory name, e.g. ckpt-00001200. */
  name: string;
  files: { name: string; chunks: Uint8Array[] }[];
  /** The marker file, written last from the digests of the others. */
  manifest: (digests: Record<string, FileDigest>) => { name: string; bytes: Uint8Array };
  /** Last check before the rename makes the checkpoint visible (the fence). */
  beforeRename?: () => Promise<void>;
  io?: CommitIo;
}

/** Temp directories start with this; anything so named at start-up is debris from a crash. */
export const tempPrefix = ".tmp-";

/**
 * A committed checkpoint moved aside while a new one of the same name takes its place. Found
 * at start-up, it is restored if the new one never arrived, else removed (CheckpointStore).
 */
export const replacedPrefix = ".replaced-";

/**
 * Atomic commit: write every file into a temp dir and fsync it, fsync the dir, rename the dir
 * into place, fsync the parent. A crash at any instant leaves either no new directory or a
 * complete one; a failure here removes the temp dir (a crash leaves it for the next start).
 */
export async function commitDirectory(req: CommitRequest): Promise<{ path: string; bytes: number; digests: Record<string, FileDigest> }> {
  const io = req.io ?? fsCommitIo;
  const temp = join(req.parent, `${tempPrefix}${req.name}-${process.pid}-${Date.now()}`);
  const path = join(req.parent, req.name);
  await io.mkdir(temp);
  try {
    // The data files are written side by side (Adam's optimizer file is twice the weights).
    // allSettled: on a failure, the clean-up below must not race a write still going.
    const written = await Promise.allSettled(
      req.files.map(async (file) => {
        const hash = createHash("sha256");
        let bytes = 0;
        await io.writeFileSynced(join(temp, file.name), file.chunks, (slice) => {
          hash.update(slice);
          bytes += slice.byteLength;
        });
        return [file.name, { sha256: hash.digest("hex"), bytes }] as const;
      }),
    );
    const failed = written.find((w) => w.status === "rejected");
    if (failed) throw failed.reason;
    const digests: Record<string, FileDigest> = Object.fromEntries(written.map((w) => (w as PromiseFulfilledResult<readonly [string, FileDigest]>).value));
    const manifest = req.manifest(digests);
    await io.writeFileSynced(join(temp, manifest.name), [manifest.bytes], () => {});
    await io.fsyncDir(temp);
    await req.beforeRename?.();
    // Same name already committed (resumed from an older checkpoint): rename(2) cannot
    // replace a non-empty directory, so the old one is moved aside first, under a name that
    // a crash between the two renames leaves for the next start to restore.
    const aside = join(req.parent, `${replacedPrefix}${req.name}`);
    const movedAside = await io.rename(path, aside).then(
      () => true,
      () => false,
    );
    try {
      await io.rename(temp, path);
    } catch (err) {
      if (movedAside) await io.rename(aside, path).catch(() => {});
      throw err;
    }
    await io.fsyncDir(req.parent);
    if (movedAside) await io.removeTree(aside);
    const bytes = Object.values(digests).reduce((n, d) => n + d.bytes, manifest.bytes.byteLength);
    return { path, bytes, digests };
  } catch (err) {
    await io.removeTree(temp).catch(() => {});
    throw err;
  }
}
