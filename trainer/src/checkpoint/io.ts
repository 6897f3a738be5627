import { mkdir, open, rename, rm } from "node:fs/promises";

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

/** Large tensors go out in slices so hashing (main thread) overlaps writing (libuv threads). */
const sliceBytes = 8 * 1024 * 1024;

export const fsCommitIo: CommitIo = {
  async mkdir(path) {
    await mkdir(path);
  },
  async writeFileSynced(path, chunks, onSlice) {
    const file = await open(path, "wx");
    try {
      for (const chunk of chunks) {
        for (let begin = 0; begin < chunk.byteLength; begin += sliceBytes) {
          const slice = chunk.subarray(begin, Math.min(begin + sliceBytes, chunk.byteLength));
          const written = writeFully(file, slice);
          onSlice(slice);
          await written;
        }
      }
      await file.sync();
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

async function writeFully(file: Awaited<ReturnType<typeof open>>, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}
