import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../safetensors/format.js";
import type { Logger } from "../log.js";
import { commitDirectory, replacedPrefix, tempPrefix } from "./commit.js";
import type { Fence } from "./fence.js";
import { fsCommitIo, type CommitIo } from "./io.js";
import { formatVersion, manifestName, manifestSchema, modelFile, optimizerFile, type Manifest } from "./manifest.js";
import type { TrainingSnapshot } from "./snapshot.js";

/** A checkpoint that failed validation: quarantined when it is the newest, never loaded. */
export class CorruptCheckpointError extends Error {
  override readonly name = "CorruptCheckpointError";
}

export interface LoadedCheckpoint {
  path: string;
  manifest: Manifest;
  weights: NamedTensor[];
  optimizerTensors: NamedTensor[];
  /** All files, the manifest included, as a save reports it. */
  bytes: number;
}

export interface CommittedCheckpoint {
  step: number;
  path: string;
  bytes: number;
  saveSeconds: number;
  kind: Manifest["kind"];
  time: Date;
}

const checkpointName = /^ckpt-(\d+)$/;
export const quarantineDir = "quarantine";

export function checkpointDirName(step: number): string {
  return `ckpt-${String(step).padStart(8, "0")}`;
}

export interface StoreOptions {
  dir: string;
  keep: number;
  log: Logger;
  /** undefined: fencing off (no RESUMABLE_ATTEMPT). */
  fence: Fence | undefined;
  io?: CommitIo;
}

/** The checkpoint directory: listing, validated loading, atomic saving, retention, quarantine. */
export class CheckpointStore {
  private readonly io: CommitIo;

  constructor(private readonly opts: StoreOptions) {
    this.io = opts.io ?? fsCommitIo;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /**
   * Creates the directory, claims the fence, and clears what a crash mid-commit left: temp
   * dirs are removed; a checkpoint moved aside for a replacement is restored if the
   * replacement never arrived, else removed.
   */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.opts.fence?.claim();
    const entries = await readdir(this.dir);
    for (const entry of entries) {
      if (entry.startsWith(tempPrefix)) {
        await this.io.removeTree(join(this.dir, entry));
        this.opts.log.info({ temp: entry }, "removed an incomplete checkpoint left by a crash");
      } else if (entry.startsWith(replacedPrefix)) {
        const name = entry.slice(replacedPrefix.length);
        if (entries.includes(name)) {
          await this.io.removeTree(join(this.dir, entry));
        } else {
          await this.io.rename(join(this.dir, entry), join(this.dir, name));
          this.opts.log.warn({ checkpoint: name }, "restored a checkpoint a crash left moved aside for its replacement");
        }
      }
    }
  }

  /** Committed checkpoint directories, newest first. */
  async list(): Promise<{ step: number; path: string }[]> {
    const entries = await readdir(this.dir);
    return entries
      .flatMap((name) => {
        const m = checkpointName.exec(name);
        return m ? [{ step: Number(m[1]), path: join(this.dir, name) }] : [];
      })
      .sort((a, b) => b.step - a.step);
  }

  /**
   * The newest checkpoint that validates. Invalid newer ones are quarantined (renamed aside)
   * so the next start does not trip over them again, and the previous valid one is used.
   */
  async loadNewestValid(): Promise<LoadedCheckpoint | undefined> {
    for (const { path } of await this.list()) {
      try {
        return await this.load(path);
      } catch (err) {
        if (!(err instanceof CorruptCheckpointError)) throw err;
        const aside = await this.quarantine(path);
        this.opts.log.warn({ checkpoint: path, quarantinedTo: aside, reason: err.message }, "corrupt checkpoint quarantined; trying the previous one");
      }
    }
    return undefined;
  }

  /** Reads and validates one checkpoint: manifest schema, every file's size and sha256, safetensors headers. */
  async load(path: string): Promise<LoadedCheckpoint> {
    const corrupt = (why: string) => new CorruptCheckpointError(`${path}: ${why}`);
    let manifest: Manifest;
    let manifestBytes = 0;
    try {
      const text = await readFile(join(path, manifestName), "utf8");
      manifestBytes = Buffer.byteLength(text);
      const parsed = manifestSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      manifest = parsed.data;
    } catch (err) {
      throw corrupt(`unreadable manifest: ${(err as Error).message}`);
    }
    const files: Record<string, Buffer> = {};
    for (const [name, expected] of Object.entries(manifest.files)) {
      if (name.includes("/") || name.startsWith(".")) throw corrupt(`manifest names an unsafe file ${JSON.stringify(name)}`);
      const bytes = await readFile(join(path, name)).catch((err: Error) => {
        throw corrupt(`cannot read ${name}: ${err.message}`);
      });
      if (bytes.byteLength !== expected.bytes) throw corrupt(`${name} has ${bytes.byteLength} bytes, manifest says ${expected.bytes}`);
      if (createHash("sha256").update(bytes).digest("hex") !== expected.sha256) throw corrupt(`${name}: sha256 mismatch`);
      files[name] = bytes;
    }
    const decode = (name: string): NamedTensor[] => {
      const bytes = files[name];
      if (bytes === undefined) throw corrupt(`manifest lists no ${name}`);
      try {
        return decodeSafetensors(bytes).tensors;
      } catch (err) {
        throw corrupt(`${name}: ${(err as Error).message}`);
      }
    };
    const bytes = Object.values(files).reduce((n, f) => n + f.byteLength, manifestBytes);
    return { path, manifest, weights: decode(modelFile), optimizerTensors: decode(optimizerFile), bytes };
  }

  /** Commits a snapshot atomically, then applies retention. */
  async save(snapshot: TrainingSnapshot, attempt: number | undefined): Promise<CommittedCheckpoint> {
    const started = performance.now();
    const step = snapshot.meta.step;
    const { path, bytes } = await commitDirectory({
      parent: this.dir,
      name: checkpointDirName(step),
      files: [
        { name: modelFile, chunks: encodeSafetensors(snapshot.weights, { format: "pt", step: String(step) }) },
        { name: optimizerFile, chunks: encodeSafetensors(snapshot.optimizerTensors, { optimizer: snapshot.meta.optimizer.name }) },
      ],
      manifest: (files) => {
        const manifest: Manifest = { formatVersion, ...snapshot.meta, createdAt: new Date().toISOString(), attempt: attempt ?? null, files };
        return { name: manifestName, bytes: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) };
      },
      beforeRename: this.opts.fence ? () => this.opts.fence!.check() : undefined,
      io: this.io,
    });
    const committed = { step, path, bytes, saveSeconds: (performance.now() - started) / 1000, kind: snapshot.meta.kind, time: new Date() };
    await this.applyRetention();
    return committed;
  }

  /**
   * Keeps the newest `keep` checkpoints plus the newest final one. Runs only after a commit,
   * so an old checkpoint is never deleted before a newer one exists.
   */
  async applyRetention(): Promise<void> {
    const all = await this.list();
    const extra = all.slice(this.opts.keep);
    let finalKept = (await Promise.all(all.slice(0, this.opts.keep).map((c) => this.kindOf(c.path)))).includes("final");
    for (const c of extra) {
      if (!finalKept && (await this.kindOf(c.path)) === "final") {
        finalKept = true;
        continue;
      }
      await this.io.removeTree(c.path);
      this.opts.log.debug({ checkpoint: c.path }, "retention: deleted");
    }
  }

  private async kindOf(path: string): Promise<string | undefined> {
    try {
      return (JSON.parse(await readFile(join(path, manifestName), "utf8")) as { kind?: string }).kind;
    } catch {
      return undefined;
    }
  }

  private async quarantine(path: string): Promise<string> {
    const target = join(this.dir, quarantineDir);
    await mkdir(target, { recursive: true });
    const aside = join(target, `${path.split("/").pop()}-${Date.now()}`);
    await rename(path, aside);
    return aside;
  }
}
