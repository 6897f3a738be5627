import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { slices } from "../../slices.js";
import {
  ObjectStoreError,
  type GetOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "./object-store.js";
import { defaultPartSize, minPartSize, s3ClientConfig, type S3StoreConfig } from "./s3-config.js";
import { classifyS3Error } from "./s3-errors.js";

export { credentialsFromDirectory, defaultPartSize, s3ClientConfig, type S3Credentials, type S3StoreConfig } from "./s3-config.js";

const deleteBatch = 1000; // DeleteObjects' limit

/** Splits chunks into slices no longer than `size` (views, no copies). */
async function* sliced(body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) yield* slices([chunk], size);
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly root: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(
    private readonly client: S3Client,
    private readonly config: S3StoreConfig,
  ) {
    const prefix = trimSlashes(config.prefix ?? "");
    this.root = prefix ? `${prefix}/` : "";
    this.location = `s3://${config.bucket}/${prefix}`;
    this.partSize = Math.max(config.partSize ?? defaultPartSize, minPartSize);
    this.queueSize = config.queueSize ?? 4;
  }

  static create(config: S3StoreConfig): S3ObjectStore {
    return new S3ObjectStore(new S3Client(s3ClientConfig(config)), config);
  }

  url(key: string): string {
    return `s3://${this.config.bucket}/${this.root}${key}`;
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  private async call<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw classifyS3Error(err, operation, this.url(key));
    }
  }

  async putObject(key: string, body: ObjectBody, options: PutOptions = {}): Promise<PutResult> {
    const params = {
      Bucket: this.config.bucket,
      Key: this.root + key,
      ...(options.ifAbsent ? { IfNoneMatch: "*" } : {}),
      ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
    };
    try {
      return await this.put(key, body, params, options);
    } catch (err) {
      const landed = err instanceof ObjectStoreError && err.kind === "exists" && body instanceof Uint8Array ? await this.holds(key, body) : undefined;
      if (landed) return landed;
      throw err;
    }
  }

  /**
   * Whether `key` holds exactly `body`. A conditional PUT whose answer was lost (a 500 or a
   * reset after the store wrote it) is retried by the SDK, and the retry's precondition then
   * fails on the object the first try wrote: the same bytes there mean the write is ours.
   */
  private async holds(key: string, body: Uint8Array): Promise<PutResult | undefined> {
    try {
      const there = await this.getObjectVersioned(key, { maxBytes: body.byteLength });
      return Buffer.from(body.buffer, body.byteOffset, body.byteLength).equals(there.body) ? { etag: there.etag } : undefined;
    } catch (err) {
      // Gone again or bigger than ours: not our write. Anything else (I/O) is the answer.
      if (err instanceof ObjectStoreError && (err.kind === "notFound" || err.kind === "tooLarge")) return undefined;
      throw err;
    }
  }

  private put(key: string, body: ObjectBody, params: { Bucket: string; Key: string; IfNoneMatch?: string; IfMatch?: string }, options: PutOptions): Promise<PutResult> {
    return this.call("put", key, async () => {
      options.signal?.throwIfAborted();
      // A small contiguous body goes up in one request the SDK can replay on a retry.
      if (body instanceof Uint8Array && body.byteLength <= this.partSize) {
        const out = await this.client.send(new PutObjectCommand({ ...params, Body: body }), { abortSignal: options.signal });
        return { etag: out.ETag };
      }
      // A contiguous body is cut into parts as views. From a stream, lib-storage buffers each
      // part before sending it (so each part can be retried) and concatenates whatever it
      // holds when a part fills: slicing big chunks first keeps that to about one part
      // instead of a copy of the largest tensor.
      const upload = new Upload({
        client: this.client,
        params: { ...params, Body: body instanceof Uint8Array ? body : Readable.from(sliced(body, this.partSize)) },
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort().catch(() => {});
      options.signal?.addEventListener("abort", abort, { once: true });
      try {
        const out = await upload.done();
        return { etag: out.ETag };
      } finally {
        options.signal?.removeEventListener("abort", abort);
      }
    });
  }

  async getObject(key: string, options: GetOptions): Promise<Buffer> {
    return (await this.getObjectVersioned(key, options)).body;
  }

  async getObjectVersioned(key: string, options: GetOptions): Promise<{ body: Buffer; etag: string | undefined }> {
    return this.call("get", key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.root + key }), {
        abortSignal: options.signal,
      });
      const stream = out.Body as Readable | undefined;
      const tooLarge = (size: number) => {
        stream?.destroy();
        return new ObjectStoreError("tooLarge", `get ${this.url(key)}: ${size} bytes or more, more than the ${options.maxBytes} allowed`, {
          url: this.url(key),
        });
      };
      if (out.ContentLength !== undefined && out.ContentLength > options.maxBytes) throw tooLarge(out.ContentLength);
      if (!stream) return { body: Buffer.alloc(0), etag: out.ETag };
      const parts: Buffer[] = [];
      let length = 0;
      for await (const chunk of stream) {
        const buf = chunk as Buffer;
        length += buf.byteLength;
        if (length > options.maxBytes) throw tooLarge(length);
        parts.push(buf);
      }
      if (out.ContentLength !== undefined && length !== out.ContentLength) {
        throw new ObjectStoreError("io", `get ${this.url(key)}: connection ended after ${length} of ${out.ContentLength} bytes`, {
          url: this.url(key),
        });
      }
      return { body: parts.length === 1 ? parts[0]! : Buffer.concat(parts, length), etag: out.ETag };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.call("head", key, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.root + key })),
      );
      return { key, size: out.ContentLength ?? 0, etag: out.ETag, lastModified: out.LastModified };
    } catch (err) {
      if (err instanceof ObjectStoreError && err.kind === "notFound") return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    for await (const page of this.pages(prefix, undefined)) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key.slice(this.root.length), size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified };
      }
    }
  }

  async *listPrefixes(prefix: string): AsyncGenerator<string> {
    for await (const page of this.pages(prefix, "/")) {
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix !== undefined) yield p.Prefix.slice(this.root.length);
      }
    }
  }

  private async *pages(prefix: string, delimiter: string | undefined) {
    let token: string | undefined;
    do {
      const page = await this.call("list", prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix: this.root + prefix,
            Delimiter: delimiter,
            ContinuationToken: token,
            MaxKeys: this.config.listPageSize,
          }),
        ),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.call("delete", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.root + key })));
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let batch: string[] = [];
    const flush = async () => {
      const keys = batch;
      batch = [];
      const out = await this.call("delete", prefix, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      // DeleteObjects answers 200 even when some keys failed; each failure is listed.
      const failed = out.Errors?.[0];
      if (failed) {
        throw classifyS3Error(
          { name: failed.Code, message: failed.Message, $metadata: {} },
          "delete",
          `s3://${this.config.bucket}/${failed.Key ?? this.root + prefix}`,
        );
      }
      deleted += keys.length;
    };
    // Deleting while listing is safe with continuation tokens: they resume after the last key.
    for await (const page of this.pages(prefix, undefined)) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        batch.push(o.Key);
        if (batch.length === deleteBatch) await flush();
      }
    }
    if (batch.length > 0) await flush();
    return deleted;
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    // CopySource is "bucket/key", URL-encoded except for the "/" separators.
    const source = `${this.config.bucket}/${this.root}${fromKey}`.split("/").map(encodeURIComponent).join("/");
    await this.call("copy", fromKey, () =>
      this.client.send(new CopyObjectCommand({ Bucket: this.config.bucket, Key: this.root + toKey, CopySource: source })),
    );
  }
}
