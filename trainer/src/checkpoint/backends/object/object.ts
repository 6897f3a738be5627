import { createHash, randomBytes } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "../../../log.js";
import { FenceConflictError, type BackendCommit, type CheckpointBackend, type Corrupt, type FenceStorage, type FileDigest } from "../../backend.js";
import { StorageError, StorageRefusedError } from "../../errors.js";
import { fenceFile, quarantineDir } from "../../layout.js";
import { manifestName } from "../../manifest.js";
import { slices } from "../../slices.js";
import { ObjectStoreError, type ObjectInfo, type ObjectStore } from "./object-store.js";

export const quarantinePrefix = `${quarantineDir}/`;
/** One object per commit (an object store cannot append): commits/<time>-<name>-<random>. */
export const commitLogPrefix = "commits/";
/** Every checkpoint name starts so (layout.ts): listing only these keys skips quarantine and the log. */
const checkpointKeyPrefix = "ckpt-";
/** Marks a checkpoint quarantined where it is, when it could not be copied aside: listings skip it. */
export const quarantinedMarker = "quarantined.json";
/** S3's CopyObject limit: a larger object cannot be copied in one request. */
export const maxCopyObjectBytes = 5 * 1024 ** 3;

/**
 * Checkpoints in an object store (S3, GCS's XML API, any S3-compatible store), which has no
 * rename. A commit uploads every data file under the checkpoint's own prefix (streamed, in
 * parallel parts), checks the server holds each one whole, then writes the manifest, which
 * carries the sha256 of every file, LAST: the manifest is the commit record. A prefix without a
 * manifest is not a checkpoint (a save cut short, e.g. past the grace period, leaves the
 * previous checkpoint the newest) and is removed at the next start.
 *
 * Errors: refused credentials or a missing bucket are StorageRefusedError with the server's
 * message (only a change to the run's storage settings fixes them; never a silent fresh start);
 * every other failure of the store (network, timeouts, 5xx after the client's retries, a
 * credentials source that does not answer) is a StorageError.
 */
export class ObjectBackend implements CheckpointBackend {
  constructor(
    private readonly store: ObjectStore,
    /** Objects larger than this are not copied into quarantine/ (a test seam; S3's limit by default). */
    private readonly maxCopyBytes = maxCopyObjectBytes,
  ) {}

  get location(): string {
    return this.store.location.replace(/\/+$/, "");
  }

  pathOf(name: string): string {
    return this.store.url(name);
  }

  nameOf(path: string): string {
    const root = `${this.location}/`;
    const rest = path.startsWith(root) ? path.slice(root.length) : path;
    return rest.replace(/\/+$/, "");
  }

  async ensure(): Promise<void> {
    // A listing, unlike a HEAD, carries the server's error body: a wrong bucket or refused
    // credentials fail here, at start, with the server's words.
    await this.call(async () => {
      for await (const _ of this.store.list(fenceFile)) break;
    });
  }

  async clearDebris(log: Logger): Promise<void> {
    const byName = await this.checkpointObjects();
    for (const [name, files] of byName) {
      if (files.has(manifestName) || files.has(quarantinedMarker)) continue;
      await this.call(() => this.store.deletePrefix(`${name}/`));
      log.info({ temp: this.pathOf(name), objects: files.size }, "removed an incomplete checkpoint (no manifest) left by a save cut short");
    }
  }

  async listNames(): Promise<string[]> {
    const byName = await this.checkpointObjects();
    return [...byName].filter(([, files]) => files.has(manifestName) && !files.has(quarantinedMarker)).map(([name]) => name);
  }

  async readFile(name: string, file: string, size: { exact?: number; max: number }, corrupt: Corrupt): Promise<Buffer> {
    const key = `${name}/${file}`;
    let bytes: Buffer;
    try {
      bytes = await this.store.getObject(key, { maxBytes: size.exact ?? size.max });
    } catch (err) {
      if (err instanceof ObjectStoreError && (err.kind === "notFound" || err.kind === "tooLarge")) throw corrupt(`cannot use ${file}: ${err.message}`, err.kind === "notFound");
      throw this.mapped(err);
    }
    if (size.exact !== undefined && bytes.byteLength !== size.exact) {
      throw corrupt(`cannot use ${file}: ${this.store.url(key)} has ${bytes.byteLength} bytes, the manifest says ${size.exact}`);
    }
    return bytes;
  }

  async readManifestIfPresent(name: string, max: number): Promise<Buffer | undefined> {
    try {
      return await this.store.getObject(`${name}/${manifestName}`, { maxBytes: max });
    } catch (err) {
      if (err instanceof ObjectStoreError && (err.kind === "notFound" || err.kind === "tooLarge")) return undefined;
      throw this.mapped(err);
    }
  }

  async commit(req: BackendCommit): Promise<{ path: string; bytes: number; digests: Record<string, FileDigest> }> {
    const prefix = `${req.name}/`;
    // Replacing a checkpoint of the same name (rare: names carry the attempt): it stops being
    // one, manifest first, before any of its files is overwritten.
    await this.call(() => this.unmake(req.name));
    const aborter = new AbortController();
    let firstError: unknown;
    let manifestSent = false;
    try {
      const uploads = req.files.map((file) =>
        this.upload(`${prefix}${file.name}`, file.chunks, aborter.signal).catch((err: unknown) => {
          // One file failed: the others stop too, and fail as "aborted". The first failure is
          // the cause (refused credentials must stay a refusal), whatever order they settle in.
          firstError ??= err;
          aborter.abort();
          throw err;
        }),
      );
      const uploaded = await Promise.allSettled(uploads);
      if (uploaded.some((u) => u.status === "rejected")) throw firstError;
      const digests: Record<string, FileDigest> = {};
      req.files.forEach((file, i) => (digests[file.name] = (uploaded[i] as PromiseFulfilledResult<FileDigest>).value));
      const manifest = req.manifest(digests);
      await req.beforeVisible?.();
      manifestSent = true;
      // Conditional create: two writers of one name cannot both commit (where the store supports it).
      await this.call(() => this.store.putObject(`${prefix}${manifest.name}`, manifest.bytes, { ifAbsent: true }));
      const bytes = Object.values(digests).reduce((n, d) => n + d.bytes, manifest.bytes.byteLength);
      return { path: this.pathOf(req.name), bytes, digests };
    } catch (err) {
      aborter.abort();
      // Without a manifest the uploads are not a checkpoint; remove them now if the store
      // answers (else the next start does). Once the manifest was sent it may have landed:
      // then it is the loader's to judge, never removed here.
      if (!manifestSent) await this.store.deletePrefix(prefix).catch(() => {});
      throw err instanceof ObjectStoreError ? this.mapped(err) : err;
    }
  }

  /** Streams one file up (hashed slice by slice as it goes), then checks the server holds all of it. */
  private async upload(key: string, chunks: Uint8Array[], signal: AbortSignal): Promise<FileDigest> {
    const hash = createHash("sha256");
    let bytes = 0;
    async function* hashed(): AsyncGenerator<Uint8Array> {
      // In the slices the directory writes, so training steps go on between them.
      for (const slice of slices(chunks)) {
        hash.update(slice);
        bytes += slice.byteLength;
        yield slice;
        await yieldToEventLoop();
      }
    }
    await this.store.putObject(key, hashed(), { signal });
    const held = await this.store.head(key);
    if (held?.size !== bytes) {
      throw new StorageError(this.store.url(key), "IncompleteUpload", `checkpoint storage: ${this.store.url(key)} holds ${held?.size ?? "no"} bytes after an upload of ${bytes}`);
    }
    return { sha256: hash.digest("hex"), bytes };
  }

  async remove(name: string): Promise<void> {
    await this.call(() => this.unmake(name));
  }

  /** Deletes a checkpoint's manifest first (it is no longer one, even if the rest fails), then its objects. */
  private async unmake(name: string): Promise<void> {
    await this.store.delete(`${name}/${manifestName}`);
    await this.store.deletePrefix(`${name}/`);
  }

  /**
   * Copies the checkpoint's objects under quarantine/ (server-side), then deletes them, manifest
   * first. An object the store cannot copy in one request (S3: over 5 GiB) is not copied: the
   * checkpoint is marked quarantined where it is instead, so a corrupt giant is still set aside
   * and kept, and not met again (and failed on as I/O) at every start.
   */
  async quarantine(name: string): Promise<string> {
    const aside = `${quarantinePrefix}${name}-${Date.now()}`;
    return this.call(async () => {
      const objects: ObjectInfo[] = [];
      for await (const o of this.store.list(`${name}/`)) objects.push(o);
      const big = objects.find((o) => o.size > this.maxCopyBytes);
      if (big) return this.markQuarantined(name, aside, `${this.store.url(big.key)} has ${big.size} bytes, more than one copy request takes`);
      try {
        for (const o of objects) await this.store.copy(o.key, `${aside}/${o.key.slice(name.length + 1)}`);
      } catch (err) {
        if (err instanceof ObjectStoreError && err.kind === "tooLarge") return this.markQuarantined(name, aside, err.message);
        throw err;
      }
      await this.unmake(name);
      return this.pathOf(aside);
    });
  }

  /**
   * The marker inside the checkpoint goes first: from then on no listing offers it, whatever
   * fails next. The note under quarantine/ names it, so quarantined() counts it.
   */
  private async markQuarantined(name: string, aside: string, why: string): Promise<string> {
    const note = Buffer.from(`${JSON.stringify({ checkpoint: this.pathOf(name), markedAt: new Date().toISOString(), notCopiedBecause: why })}\n`);
    await this.store.putObject(`${name}/${quarantinedMarker}`, note);
    await this.store.putObject(`${aside}/${quarantinedMarker}`, note);
    return this.pathOf(name);
  }

  async quarantined(): Promise<string[]> {
    return this.call(async () => {
      const names: string[] = [];
      for await (const p of this.store.listPrefixes(quarantinePrefix)) names.push(p.slice(quarantinePrefix.length).replace(/\/$/, ""));
      return names;
    });
  }

  async appendCommitLog(line: string): Promise<void> {
    const name = (JSON.parse(line) as { dir?: string }).dir ?? "commit";
    const key = `${commitLogPrefix}${new Date().toISOString()}-${name}-${randomBytes(3).toString("hex")}`;
    await this.call(() => this.store.putObject(key, Buffer.from(`${line}\n`)));
  }

  async readCommitLog(): Promise<string[]> {
    return this.call(async () => {
      const lines: string[] = [];
      for await (const o of this.store.list(commitLogPrefix)) lines.push((await this.store.getObject(o.key, { maxBytes: 64 * 1024 })).toString("utf8").trim());
      return lines;
    });
  }

  async readFence(): Promise<string | undefined> {
    return (await this.fenceStorage().read())?.text;
  }

  /** The fence as one object, replaced with If-Match on the ETag read (created with If-None-Match). */
  fenceStorage(): FenceStorage {
    return {
      location: this.pathOf(fenceFile),
      read: async () => {
        try {
          const { body, etag } = await this.store.getObjectVersioned(fenceFile, { maxBytes: 1024 * 1024 });
          return { text: body.toString("utf8"), version: etag };
        } catch (err) {
          if (err instanceof ObjectStoreError && err.kind === "notFound") return undefined;
          throw this.mapped(err);
        }
      },
      write: async (text, expected) => {
        const condition = expected === undefined ? { ifAbsent: true } : expected.version !== undefined ? { ifMatch: expected.version } : {};
        try {
          await this.store.putObject(fenceFile, Buffer.from(text), condition);
        } catch (err) {
          if (err instanceof ObjectStoreError && err.kind === "exists") throw new FenceConflictError(`${this.pathOf(fenceFile)} changed while being claimed`);
          throw this.mapped(err);
        }
      },
    };
  }

  /** The objects under ckpt-*, by checkpoint name: the set of file names each holds. */
  private async checkpointObjects(): Promise<Map<string, Set<string>>> {
    return this.call(async () => {
      const byName = new Map<string, Set<string>>();
      for await (const o of this.store.list(checkpointKeyPrefix)) {
        const slash = o.key.indexOf("/");
        if (slash < 0) continue;
        const name = o.key.slice(0, slash);
        const files = byName.get(name) ?? new Set<string>();
        files.add(o.key.slice(slash + 1));
        byName.set(name, files);
      }
      return byName;
    });
  }

  /** Runs store calls; their ObjectStoreError (which names the URL) becomes the trainer's class. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw this.mapped(err);
    }
  }

  /** An ObjectStoreError as the trainer's failure classes (exit 2 or 4); anything else unchanged. */
  private mapped(err: unknown): unknown {
    if (!(err instanceof ObjectStoreError)) return err;
    if (err.needsConfigChange) return new StorageRefusedError(err.details.url, err.details.code ?? err.kind, `checkpoint storage ${this.location}: ${err.message}`);
    return new StorageError(err.details.url, err.details.code ?? err.kind, `checkpoint storage: ${err.message}`);
  }
}
