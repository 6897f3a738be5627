// An object store in memory with the conditional puts the fence relies on (If-None-Match,
// If-Match on an ETag): the object backend's contract without a server process.
import { createHash } from "node:crypto";
import { ObjectStoreError, type ObjectBody, type ObjectInfo, type ObjectStore, type PutOptions } from "../../../trainer/src/storage/object-store.js";

async function bytesOf(body: ObjectBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Uint8Array[] = [];
  for await (const part of body as AsyncIterable<Uint8Array>) parts.push(part);
  return Buffer.concat(parts);
}

export function memoryObjectStore(location = "s3://memory/run"): ObjectStore & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  const url = (key: string) => `${location}/${key}`;
  const etagOf = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");
  const notFound = (key: string) => new ObjectStoreError("notFound", `get ${url(key)}: NoSuchKey`, { url: url(key), code: "NoSuchKey" });
  const get = (key: string, maxBytes: number): Buffer => {
    const bytes = objects.get(key);
    if (bytes === undefined) throw notFound(key);
    if (bytes.byteLength > maxBytes) throw new ObjectStoreError("tooLarge", `get ${url(key)}: ${bytes.byteLength} bytes`, { url: url(key) });
    return bytes;
  };
  const sorted = (prefix: string) => [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  return {
    objects,
    location,
    url,
    async putObject(key: string, body: ObjectBody, options: PutOptions = {}) {
      const bytes = await bytesOf(body);
      // Checked after the body arrived, as a server checks at the end of the request.
      const held = objects.get(key);
      const lost = (options.ifAbsent && held !== undefined) || (options.ifMatch !== undefined && (held === undefined || etagOf(held) !== options.ifMatch));
      if (lost) throw new ObjectStoreError("exists", `put ${url(key)}: PreconditionFailed`, { url: url(key), code: "PreconditionFailed", httpStatus: 412 });
      objects.set(key, bytes);
      return { etag: etagOf(bytes) };
    },
    getObject: async (key, options) => get(key, options.maxBytes),
    async getObjectVersioned(key, options) {
      const body = get(key, options.maxBytes);
      return { body, etag: etagOf(body) };
    },
    async head(key): Promise<ObjectInfo | undefined> {
      const bytes = objects.get(key);
      return bytes && { key, size: bytes.byteLength, etag: etagOf(bytes) };
    },
    async *list(prefix) {
      for (const key of sorted(prefix)) yield { key, size: objects.get(key)!.byteLength };
    },
    async *listPrefixes(prefix) {
      yield* new Set(sorted(prefix).flatMap((k) => (k.indexOf("/", prefix.length) < 0 ? [] : [k.slice(0, k.indexOf("/", prefix.length) + 1)])));
    },
    async delete(key) {
      objects.delete(key);
    },
    async deletePrefix(prefix) {
      const keys = sorted(prefix);
      for (const key of keys) objects.delete(key);
      return keys.length;
    },
    async copy(from, to) {
      objects.set(to, get(from, Number.MAX_SAFE_INTEGER));
    },
  };
}
