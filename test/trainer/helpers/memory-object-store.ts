// An object store in memory, with a fault hook on every call: for the object backend's paths
// that a real server cannot be made to take on cue (a read that lags a listing, a copy the
// store refuses for its size).
import { ObjectStoreError, type ObjectBody, type ObjectInfo, type ObjectStore, type PutOptions } from "../../../trainer/src/checkpoint/backends/object/object-store.js";

export type Call = "put" | "get" | "head" | "list" | "delete" | "copy";

/** Returns an error to throw for the n-th call (from 0) of `call` on `key`, or undefined to go on. */
export type Fault = (call: Call, key: string, nth: number) => ObjectStoreError | undefined;

export class MemoryObjectStore implements ObjectStore {
  readonly location = "s3://memory/run";
  readonly objects = new Map<string, Buffer>();
  /** Sizes the listing reports instead of the real ones (an object too big to hold in a test). */
  readonly listedSizes = new Map<string, number>();
  private readonly calls = new Map<string, number>();

  constructor(private readonly fault: Fault = () => undefined) {}

  url(key: string): string {
    return `${this.location}/${key}`;
  }

  /** An error as the S3 store classifies it, for fault hooks. */
  error(kind: ObjectStoreError["kind"], key: string, code: string, message = code): ObjectStoreError {
    return new ObjectStoreError(kind, `${this.url(key)}: ${message}`, { url: this.url(key), code });
  }

  private check(call: Call, key: string): void {
    const id = `${call} ${key}`;
    const nth = this.calls.get(id) ?? 0;
    this.calls.set(id, nth + 1);
    const err = this.fault(call, key, nth);
    if (err) throw err;
  }

  async putObject(key: string, body: ObjectBody, options: PutOptions = {}) {
    this.check("put", key);
    const parts: Uint8Array[] = [];
    if (body instanceof Uint8Array) parts.push(body);
    else for await (const chunk of body) parts.push(chunk);
    if (options.ifAbsent && this.objects.has(key)) throw this.error("exists", key, "PreconditionFailed");
    this.objects.set(key, Buffer.concat(parts));
    return { etag: `"${this.objects.get(key)!.byteLength}"` };
  }

  async getObject(key: string, options: { maxBytes: number }) {
    return (await this.getObjectVersioned(key, options)).body;
  }

  async getObjectVersioned(key: string, options: { maxBytes: number }) {
    this.check("get", key);
    const body = this.objects.get(key);
    if (body === undefined) throw this.error("notFound", key, "NoSuchKey");
    if (body.byteLength > options.maxBytes) throw this.error("tooLarge", key, "tooLarge");
    return { body, etag: undefined };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.check("head", key);
    const body = this.objects.get(key);
    return body === undefined ? undefined : { key, size: body.byteLength };
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.check("list", prefix);
    for (const key of [...this.objects.keys()].sort()) {
      if (key.startsWith(prefix)) yield { key, size: this.listedSizes.get(key) ?? this.objects.get(key)!.byteLength };
    }
  }

  async *listPrefixes(prefix: string): AsyncGenerator<string> {
    const seen = new Set<string>();
    for await (const o of this.list(prefix)) {
      const slash = o.key.indexOf("/", prefix.length);
      if (slash >= 0) seen.add(o.key.slice(0, slash + 1));
    }
    yield* [...seen].sort();
  }

  async delete(key: string): Promise<void> {
    this.check("delete", key);
    this.objects.delete(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix));
    for (const key of keys) await this.delete(key);
    return keys.length;
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    this.check("copy", fromKey);
    const body = this.objects.get(fromKey);
    if (body === undefined) throw this.error("notFound", fromKey, "NoSuchKey");
    this.objects.set(toKey, body);
  }
}
