import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../../log.js";
import { defaultReadRetryDelaysMs, type BackendCommit, type CheckpointBackend, type Corrupt, type FenceStorage } from "../../backend.js";
import { asStorageError, errnoOf, isContentErrno, StorageError } from "../../errors.js";
import { commitLogFile, quarantineDir } from "../../layout.js";
import { commitDirectory, replacedPrefix, tempPrefix } from "./commit.js";
import { directoryFenceStorage } from "./fence-directory.js";
import { fsCommitIo, type CommitIo } from "./io.js";
import { fsStoreIo, NotARegularFileError, UnexpectedSizeError, type StoreIo } from "./store-io.js";

export interface DirectoryBackendOptions {
  dir: string;
  io?: CommitIo;
  readIo?: StoreIo;
  /** Waits before each retry of a failed read; tests pass zeros. */
  readRetryDelaysMs?: readonly number[];
  log: Logger;
}

/**
 * Checkpoints as directories: a commit writes a temp dir and renames it into place (commit.ts).
 * Reads are retried after each of a fixed list of waits, then reported as a StorageError.
 */
export class DirectoryBackend implements CheckpointBackend {
  private readonly io: CommitIo;
  private readonly readIo: StoreIo;
  private readonly retryDelays: readonly number[];

  constructor(private readonly opts: DirectoryBackendOptions) {
    this.io = opts.io ?? fsCommitIo;
    this.readIo = opts.readIo ?? fsStoreIo;
    this.retryDelays = opts.readRetryDelaysMs ?? defaultReadRetryDelaysMs;
  }

  get location(): string {
    return this.opts.dir;
  }

  pathOf(name: string): string {
    return join(this.opts.dir, name);
  }

  /**
   * A bare name stays a name in this directory; a path (--resume-from may name a checkpoint
   * anywhere) becomes absolute, resolved against the working directory as the user meant it.
   */
  nameOf(path: string): string {
    return path.includes("/") ? resolve(path) : path;
  }

  /** Where a name (in this directory) or an absolute path (anywhere) is on disk. */
  private at(name: string, file?: string): string {
    const dir = resolve(this.opts.dir, name);
    return file === undefined ? dir : join(dir, file);
  }

  async ensure(): Promise<void> {
    await this.storage(this.opts.dir, () => this.readIo.mkdirp(this.opts.dir));
  }

  async clearDebris(log: Logger): Promise<void> {
    const dir = this.opts.dir;
    const entries = await this.readdir(dir);
    for (const entry of entries) {
      if (entry.startsWith(tempPrefix)) {
        await this.io.removeTree(join(dir, entry));
        log.info({ temp: entry }, "removed an incomplete checkpoint left by a crash");
      } else if (entry.startsWith(replacedPrefix)) {
        const name = entry.slice(replacedPrefix.length);
        if (entries.includes(name)) {
          await this.io.removeTree(join(dir, entry));
        } else {
          await this.io.rename(join(dir, entry), join(dir, name));
          log.warn({ checkpoint: name }, "restored a checkpoint a crash left moved aside for its replacement");
        }
      }
    }
  }

  listNames(): Promise<string[]> {
    return this.readdir(this.opts.dir);
  }

  async readFile(name: string, file: string, size: { exact?: number; max: number }, corrupt: Corrupt): Promise<Buffer> {
    const path = this.at(name, file);
    try {
      return await this.withRetries(path, "read", () => this.readIo.readRegularFile(path, size));
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (isContentErrno(err) || err instanceof NotARegularFileError || err instanceof UnexpectedSizeError) {
        throw corrupt(`cannot use ${file}: ${(err as Error).message}`, errnoOf(err) === "ENOENT");
      }
      throw err;
    }
  }

  async readManifestIfPresent(name: string, max: number): Promise<Buffer | undefined> {
    const path = this.at(name, "manifest.json");
    try {
      return await this.withRetries(path, "read", () => this.readIo.readRegularFile(path, { max }));
    } catch (err) {
      if (isContentErrno(err) || err instanceof NotARegularFileError || err instanceof UnexpectedSizeError) return undefined;
      throw err;
    }
  }

  async commit(req: BackendCommit) {
    try {
      return await commitDirectory({ parent: this.opts.dir, name: req.name, files: req.files, manifest: req.manifest, beforeRename: req.beforeVisible, io: this.io });
    } catch (err) {
      throw asStorageError(err, join(this.opts.dir, req.name), "commit");
    }
  }

  async remove(name: string): Promise<void> {
    const path = this.at(name);
    await this.storage(path, () => this.io.removeTree(path));
  }

  async quarantine(name: string): Promise<string> {
    const target = join(this.opts.dir, quarantineDir);
    const path = this.at(name);
    const aside = join(target, `${basename(path)}-${Date.now()}`);
    await this.storage(target, () => this.readIo.mkdirp(target));
    await this.storage(path, () => this.readIo.rename(path, aside));
    return aside;
  }

  async quarantined(): Promise<string[]> {
    return this.readdir(join(this.opts.dir, quarantineDir)).catch((err: unknown) => {
      if (err instanceof StorageError && err.code === "ENOENT") return [];
      throw err;
    });
  }

  appendCommitLog(line: string): Promise<void> {
    return this.readIo.appendLine(join(this.opts.dir, commitLogFile), line);
  }

  async readCommitLog(): Promise<string[]> {
    const text = await this.readIo.readText(join(this.opts.dir, commitLogFile)).catch((err: unknown) => {
      if (errnoOf(err) === "ENOENT") return "";
      throw asStorageError(err, join(this.opts.dir, commitLogFile), "read");
    });
    return text.split("\n").filter((l) => l.trim() !== "");
  }

  readFence(): Promise<string | undefined> {
    const storage = this.fenceStorage();
    return this.withRetries(storage.location, "read", async () => (await storage.read())?.text);
  }

  fenceStorage(): FenceStorage {
    return directoryFenceStorage(this.opts.dir, this.readIo);
  }

  private async readdir(path: string): Promise<string[]> {
    return this.withRetries(path, "list", () => this.readIo.readdir(path));
  }

  /** Retries an I/O error after each of the fixed delays, then throws StorageError. Content errors pass through at once. */
  private async withRetries<T>(path: string, what: string, op: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await op();
      } catch (err) {
        const isIo = errnoOf(err) !== undefined && !isContentErrno(err);
        if (!isIo) {
          if (what === "list" && errnoOf(err) !== undefined) throw asStorageError(err, path, what);
          throw err;
        }
        const delay = this.retryDelays[retry];
        if (delay === undefined) throw asStorageError(err, path, what, retry);
        this.opts.log.warn({ path, code: errnoOf(err), retry: retry + 1, delayMs: delay }, "checkpoint storage I/O error; retrying");
        await sleep(delay);
      }
    }
  }

  /** Runs a write-side step; an errno error becomes a StorageError naming the path. */
  private async storage<T>(path: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw asStorageError(err, path, "write");
    }
  }
}
