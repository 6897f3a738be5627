import { fsCommitIo, type CommitIo } from "../../../trainer/src/checkpoint/backends/directory/io.js";
import { fsStoreIo, type StoreIo } from "../../../trainer/src/checkpoint/backends/directory/store-io.js";

/** An errno error as node:fs throws it. */
export function errnoError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, open '${path}'`), { code, path });
}

/**
 * The store's reads with a fault injected: `fail(path)` returns an errno to throw for that read
 * (or undefined to read normally). Counts reads per path so a test can see the retries.
 */
export function faultyReadIo(fail: (op: keyof StoreIo, path: string, nth: number) => string | undefined): { io: StoreIo; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const guard =
    <A extends [string, ...unknown[]], R>(op: keyof StoreIo, f: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const nth = reads.get(args[0]) ?? 0;
      reads.set(args[0], nth + 1);
      const code = fail(op, args[0], nth);
      if (code) throw errnoError(code, args[0]);
      return f(...args);
    };
  return {
    io: {
      readdir: guard("readdir", fsStoreIo.readdir),
      readRegularFile: guard("readRegularFile", fsStoreIo.readRegularFile),
      readText: guard("readText", fsStoreIo.readText),
      mkdirp: guard("mkdirp", fsStoreIo.mkdirp),
      rename: guard("rename", fsStoreIo.rename),
      appendLine: guard("appendLine", fsStoreIo.appendLine),
    },
    reads,
  };
}

/** A commit io whose first directory rename waits until `release()`: a trainer stalled between its fence check and its rename. */
export function stallingCommitIo(): { io: CommitIo; stalled: Promise<void>; release: () => void } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stalled = new Promise<void>((r) => (reached = r));
  let renames = 0;
  return {
    io: {
      ...fsCommitIo,
      async rename(from, to) {
        if (renames++ === 0) {
          reached();
          await gate;
        }
        return fsCommitIo.rename(from, to);
      },
    },
    stalled,
    release,
  };
}

/** A commit io whose file writes fail with `code` while `failing()` is true (ENOSPC on a full volume). */
export function failingWritesIo(code: string, failing: () => boolean): CommitIo {
  return {
    ...fsCommitIo,
    async writeFileSynced(path, chunks, onSlice) {
      if (failing()) throw errnoError(code, path);
      return fsCommitIo.writeFileSynced(path, chunks, onSlice);
    },
  };
}
