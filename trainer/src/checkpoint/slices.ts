/**
 * Large tensors go out in slices on every backend: hashed one by one, yielding between them (so
 * a save run on the training thread, as a library user may, lets steps go on; the trainer's run
 * on its save thread, save-thread/thread.ts), while a directory writes them on libuv threads
 * and a bucket streams them. 1 MiB, as dd's bs: measured here, 64 MiB in one write(2) took
 * 200-360 ms, in 1 MiB writes 20-50 ms.
 */
export const sliceBytes = 1024 * 1024;

/** The chunks cut into slices of at most `size` bytes: views, never copies. */
export function* slices(chunks: Iterable<Uint8Array>, size = sliceBytes): Generator<Uint8Array> {
  for (const chunk of chunks) {
    for (let begin = 0; begin < chunk.byteLength; begin += size) yield chunk.subarray(begin, Math.min(begin + size, chunk.byteLength));
  }
}
