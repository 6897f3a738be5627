// Where a checkpoint store's contract tests run: a directory, or a prefix in a bucket on the
// real S3 server process. A Place gives each test the same handles on either: stores, fences,
// and raw access to one checkpoint's files to corrupt them as a disk or a bucket could.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FenceStorage } from "../../../trainer/src/checkpoint/backend.js";
import { directoryFenceStorage } from "../../../trainer/src/checkpoint/backends/directory/fence-directory.js";
import { Fence } from "../../../trainer/src/checkpoint/fence.js";
import { ObjectBackend } from "../../../trainer/src/checkpoint/backends/object/object.js";
import type { RunOwner } from "../../../trainer/src/checkpoint/owner.js";
import type { CheckpointStore, StoreOptions } from "../../../trainer/src/checkpoint/store.js";
import type { ObjectStore } from "../../../trainer/src/checkpoint/backends/object/object-store.js";
import { S3ObjectStore } from "../../../trainer/src/checkpoint/backends/object/s3.js";
import { storeLocation, type S3Server } from "../../s3/server.js";
import { stallingCommitIo } from "./faulty-io.js";
import { MemoryObjectStore } from "./memory-object-store.js";
import { store as dirStore } from "./snapshots.js";
import { tempDir } from "./trainer-process.js";

export interface Place {
  kind: "directory" | "s3" | "memory";
  store(overrides?: Partial<Pick<StoreOptions, "keep" | "fence" | "owner">>): CheckpointStore;
  fence(attempt: number, owner?: RunOwner): Fence;
  /** A store whose first commit stalls just before it becomes visible (after the fence check) until release(). */
  stallingStore(overrides: Partial<Pick<StoreOptions, "keep" | "fence" | "owner">>): { store: CheckpointStore; stalled: Promise<void>; release: () => void };
  /** The path or URL the store reports for a checkpoint name. */
  path(name: string): string;
  /** Top-level names: checkpoints (committed or not), quarantine, the fence, the log. */
  entries(): Promise<string[]>;
  readFile(name: string, file: string): Promise<Buffer>;
  writeFile(name: string, file: string, bytes: Buffer | string): Promise<void>;
  removeFile(name: string, file: string): Promise<void>;
  /** What a crash mid-commit leaves: a partial data file that never became a checkpoint. */
  leaveIncompleteCommit(step: number): Promise<void>;
  /** Left-overs of incomplete commits. */
  debris(): Promise<string[]>;
  writeFence(text: string): Promise<void>;
  /** What a user does to hand a location over on purpose: every record of the fence removed. */
  removeFence(): Promise<void>;
  /** Every file or object under the location and its bytes, by relative path or key. */
  everything(): Promise<Map<string, Buffer>>;
}

export async function directoryPlace(): Promise<Place> {
  const dir = await tempDir();
  return {
    kind: "directory",
    store: (o = {}) => dirStore(dir, o),
    fence: (attempt, owner) => new Fence(directoryFenceStorage(dir), attempt, { owner }),
    stallingStore(o) {
      const stall = stallingCommitIo();
      return { store: dirStore(dir, { ...o, io: stall.io }), stalled: stall.stalled, release: stall.release };
    },
    path: (name) => join(dir, name),
    entries: () => readdir(dir),
    readFile: (name, file) => readFile(join(dir, name, file)),
    writeFile: (name, file, bytes) => writeFile(join(dir, name, file), bytes),
    removeFile: (name, file) => rm(join(dir, name, file)),
    async leaveIncompleteCommit(step) {
      const temp = join(dir, `.tmp-ckpt-${String(step).padStart(8, "0")}-1-2`);
      await mkdir(temp);
      await writeFile(join(temp, "model.safetensors"), "partial");
    },
    debris: async () => (await readdir(dir)).filter((e) => e.startsWith(".")),
    writeFence: (text) => writeFile(join(dir, "fence"), text),
    async removeFence() {
      for (const name of await readdir(dir)) if (/^fence(\.\d+)?$/.test(name)) await rm(join(dir, name));
    },
    async everything() {
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      return new Map(await Promise.all(files.map(async (e) => [join(e.parentPath, e.name).slice(dir.length + 1), await readFile(join(e.parentPath, e.name))] as const)));
    },
  };
}

let prefixes = 0;

/** A fresh prefix in the server's bucket (one per test, so tests never see each other's keys). */
export function s3Place(server: S3Server): Place {
  return objectPlace("s3", S3ObjectStore.create({ ...storeLocation(server, `contract/p${process.pid}-${++prefixes}`), maxAttempts: 2 }));
}

/** A fresh object store in memory: the object backend's contract without a server. */
export async function memoryPlace(): Promise<Place> {
  return objectPlace("memory", new MemoryObjectStore());
}

function objectPlace(kind: "s3" | "memory", objects: ObjectStore): Place {
  const backendOver = (s: ObjectStore) => new ObjectBackend(s);
  const backend = backendOver(objects);
  const make = (b: ObjectBackend, o: Partial<Pick<StoreOptions, "keep" | "fence" | "owner">> = {}) => dirStore("", { backend: b, ...o });
  const fenceStorage: FenceStorage = backend.fenceStorage();
  return {
    kind,
    store: (o = {}) => make(backend, o),
    fence: (attempt, owner) => new Fence(fenceStorage, attempt, { owner }),
    stallingStore(o) {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const stalled = new Promise<void>((r) => (reached = r));
      let manifests = 0;
      // The first manifest put (the commit record: after the fence check) waits at the gate.
      const stalling: ObjectStore = Object.create(objects) as ObjectStore;
      stalling.putObject = async (key, body, options) => {
        if (key.endsWith("/manifest.json") && manifests++ === 0) {
          reached();
          await gate;
        }
        return objects.putObject(key, body, options);
      };
      return { store: make(backendOver(stalling), o), stalled, release };
    },
    path: (name) => objects.url(name),
    async entries() {
      const names = new Set<string>();
      for await (const o of objects.list("")) names.add(o.key.split("/")[0]!);
      return [...names];
    },
    readFile: (name, file) => objects.getObject(`${name}/${file}`, { maxBytes: 1 << 30 }),
    writeFile: async (name, file, bytes) => void (await objects.putObject(`${name}/${file}`, Buffer.from(bytes))),
    removeFile: (name, file) => objects.delete(`${name}/${file}`),
    async leaveIncompleteCommit(step) {
      await objects.putObject(`ckpt-${String(step).padStart(8, "0")}/model.safetensors`, Buffer.from("partial"));
    },
    async debris() {
      const byName = new Map<string, string[]>();
      for await (const o of objects.list("ckpt-")) {
        const [name, file] = o.key.split("/") as [string, string];
        byName.set(name, [...(byName.get(name) ?? []), file]);
      }
      return [...byName].filter(([, files]) => !files.includes("manifest.json")).map(([name]) => name);
    },
    writeFence: async (text) => void (await objects.putObject("fence", Buffer.from(text))),
    removeFence: () => objects.delete("fence"),
    async everything() {
      const all = new Map<string, Buffer>();
      for await (const o of objects.list("")) all.set(o.key, await objects.getObject(o.key, { maxBytes: 1 << 30 }));
      return all;
    },
  };
}
