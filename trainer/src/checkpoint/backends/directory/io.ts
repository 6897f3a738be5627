import { mkdir, open, rename, rm } from "node:fs/promises";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { slices } from "../../slices.js";

/**
 * The file-system steps a checkpoint commit takes. An interface so tests can inject a failure
 * (or a "crash": every later step fails too) at each step and check what is left on disk.
 */
export interface CommitIo {
  mkdir(path: string): Promise<void>;
  /** Writes the chunks to a new file and fsyncs it; calls onSlice with each slice as it goes out. */
  writeFileSynced(path: string, chunks: Uint8Array[], onSlice: (slice: Uint8Array) => void): Promise<void>;
  fsyncDir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  removeTree(path: string): Promise<void>;
}

export const fsCommitIo: CommitIo = {
  async mkdir(path) {
    await mkdir(path);
  },
  /**
   * All slices are queued for positional writes at once, then hashed one by one, yielding to
   * the event loop between slices so training steps go on; the fsync starts as soon as the
   * writes are done, while hashing may still run. The save then takes about max(write + fsync,
   * hash) rather than their sum.
   */
  async writeFileSynced(path, chunks, onSlice) {
    const file = await open(path, "wx");
    try {
      const sliced = [...slices(chunks)];
      let position = 0;
      const writes = sliced.map((slice) => {
        const written = writeFully(file, slice, position);
        position += slice.byteLength;
        return written;
      });
      const synced = Promise.all(writes).then(() => file.sync());
      synced.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      for (const slice of sliced) {
        onSlice(slice);
        await yieldToEventLoop();
      }
      await synced;
    } finally {
      await file.close();
    }
  },
  async fsyncDir(path) {
    const dir = await open(path, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  },
  async rename(from, to) {
    await rename(from, to);
  },
  async removeTree(path) {
    await rm(path, { recursive: true, force: true });
  },
};

async function writeFully(file: Awaited<ReturnType<typeof open>>, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}
