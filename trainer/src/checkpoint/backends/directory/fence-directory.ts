import { randomBytes } from "node:crypto";
import { link, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { FenceConflictError, type FenceStorage } from "../../backend.js";
import { errnoOf } from "../../errors.js";
import { parseClaims } from "../../fence.js";
import { fenceFile } from "../../layout.js";
import type { Claim } from "../../manifest.js";
import { fsStoreIo, type StoreIo } from "./store-io.js";

/** fence.00000007: version 7 of the fence, created exclusively, never rewritten. */
const versionName = /^fence\.(\d{8,})$/;
/** Versions kept behind the newest: a reader that listed just before a write still finds its file. */
const keptVersions = 2;
/** A reader whose version file was pruned between listing and reading lists again, this often at most. */
const maxRelists = 5;

function versionFile(dir: string, version: number): string {
  return join(dir, `${fenceFile}.${String(version).padStart(8, "0")}`);
}

/**
 * The fence on a directory, which may be a shared (RWX) volume mounted by two trainers at once;
 * fenceFile is the stem of its version files and the previous version's one file.
 * A compare-and-swap on a file system: every version of the fence is its own file, written
 * whole to a temp file, then published by link(2) under the next version's name, which fails
 * with EEXIST if that version exists. Two writers of the same version cannot both win (link is
 * atomic on local file systems and NFS alike), and a reader never sees a half-written version.
 * Replacing one file by rename could not do this: two read-modify-writes would both "win".
 * On NFS a link whose reply was lost can report EEXIST though it succeeded; the Fence then reads
 * again, finds its own claim in place, and goes on (claims are idempotent), so no link count check.
 *
 * The single `fence` file of the previous trainer version is read while no version file exists
 * (an old location still resumes). It is kept as a copy of the newest version, replaced by
 * rename after each publication, for that version's trainers only: a zombie from before an
 * upgrade still sees its successor's claim. This version never reads it once a version exists.
 */
export function directoryFenceStorage(dir: string, io: StoreIo = fsStoreIo): FenceStorage {
  return {
    location: join(dir, fenceFile),
    async read() {
      for (let relists = 0; ; relists++) {
        let names: string[];
        try {
          names = await io.readdir(dir);
        } catch (err) {
          if (errnoOf(err) === "ENOENT") return undefined; // no directory yet: nothing claimed it
          throw err;
        }
        const newest = Math.max(0, ...names.flatMap((n) => versionName.exec(n)?.[1] ?? []).map(Number));
        const path = newest === 0 ? join(dir, fenceFile) : versionFile(dir, newest);
        try {
          return { text: await io.readText(path), version: String(newest) };
        } catch (err) {
          if (errnoOf(err) !== "ENOENT") throw err;
          if (newest === 0) return undefined;
          if (relists >= maxRelists) throw err;
        }
      }
    },
    async write(text, expected) {
      const version = Number(expected?.version ?? 0) + 1;
      const temp = join(dir, `.${fenceFile}-${process.pid}-${randomBytes(4).toString("hex")}`);
      const file = await open(temp, "wx");
      try {
        try {
          await file.writeFile(text);
          await file.sync();
        } finally {
          await file.close();
        }
        await link(temp, versionFile(dir, version));
        // The copy for the previous version (see above): best effort, the claim is made.
        await rename(temp, join(dir, fenceFile)).catch(() => {});
      } catch (err) {
        if (errnoOf(err) === "EEXIST") throw new FenceConflictError(`${versionFile(dir, version)} was written by another trainer first`);
        throw err;
      } finally {
        await unlink(temp).catch(() => {});
      }
      const handle = await open(dir, "r");
      await handle.sync().finally(() => handle.close());
      // Best effort: an old version is only read if every newer one is gone.
      if (version > keptVersions) await unlink(versionFile(dir, version - keptVersions)).catch(() => {});
    },
  };
}

/** The claims in a directory's fence file (also for loaders that claim nothing). */
export async function readClaims(dir: string, io: StoreIo = fsStoreIo): Promise<Claim[]> {
  const read = await directoryFenceStorage(dir, io).read();
  return read ? parseClaims(read.text, join(dir, fenceFile)) : [];
}
