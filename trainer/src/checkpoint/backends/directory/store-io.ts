import { constants } from "node:fs";
import { appendFile, mkdir, open, readdir, readFile, rename } from "node:fs/promises";

/**
 * The file-system reads (and the few small writes outside a commit) of the directory backend and its fence.
 * An interface so tests inject EACCES, EIO or ENOSPC (chmod cannot deny root) and stalls.
 */
export interface StoreIo {
  readdir(path: string): Promise<string[]>;
  /**
   * A regular file's bytes, read without following a symlink or blocking on a FIFO; its size is
   * checked before reading. Throws NotARegularFileError / UnexpectedSizeError for content
   * problems, the system's errno error otherwise.
   */
  readRegularFile(path: string, size: { exact?: number; max: number }): Promise<Buffer>;
  /** A small text file (the fence); the system's error as is, ENOENT included. */
  readText(path: string): Promise<string>;
  mkdirp(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  appendLine(path: string, line: string): Promise<void>;
}

/** The path is not a regular file (a FIFO, a device, a directory): content, not I/O. */
export class NotARegularFileError extends Error {
  override readonly name = "NotARegularFileError";
}

/** The file's size is not what the manifest (or a cap) allows: content, not I/O. */
export class UnexpectedSizeError extends Error {
  override readonly name = "UnexpectedSizeError";
}

export const fsStoreIo: StoreIo = {
  readdir: (path) => readdir(path),
  async readRegularFile(path, size) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw new NotARegularFileError(`${path} is not a regular file`);
      if (size.exact !== undefined && stat.size !== size.exact) {
        throw new UnexpectedSizeError(`${path} has ${stat.size} bytes, the manifest says ${size.exact}`);
      }
      if (stat.size > size.max) throw new UnexpectedSizeError(`${path} has ${stat.size} bytes, more than the ${size.max} allowed`);
      const bytes = Buffer.alloc(stat.size);
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesRead } = await file.read(bytes, done, bytes.byteLength - done, done);
        if (bytesRead === 0) throw new UnexpectedSizeError(`${path} shrank while being read (${done} of ${stat.size} bytes)`);
        done += bytesRead;
      }
      return bytes;
    } finally {
      await file.close();
    }
  },
  readText: (path) => readFile(path, "utf8"),
  async mkdirp(path) {
    await mkdir(path, { recursive: true });
  },
  rename: (from, to) => rename(from, to),
  appendLine: (path, line) => appendFile(path, `${line}\n`),
};
