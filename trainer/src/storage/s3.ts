import { readFile } from "node:fs/promises";
import { join } from "node:path";
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
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { S3_CREDENTIAL_FILES } from "@resumable/protocol";
import { slices } from "../checkpoint/io.js";
import {
  ObjectStoreError,
  type GetOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "./object-store.js";
import { classifyS3Error } from "./s3-errors.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreConfig {
  bucket: string;
  /** Key prefix for everything this store writes, without leading or trailing "/". */
  prefix?: string;
  /** For S3-compatible stores and GCS (https://storage.googleapis.com); unset means AWS. */
  endpoint?: string;
  /** Defaults to AWS_REGION, else us-east-1 (what S3-compatible stores expect). */
  region?: string;
  /**
   * Explicit credentials, e.g. from credentialsFromDirectory. Unset: the SDK's default chain
   * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity token, pod identity, IMDS, ...).
   */
  credentials?: S3Credentials;
  /** Bytes per multipart part; S3's minimum is 5 MiB. */
  partSize?: number;
  /** Parts in flight at once; memory held is about partSize * (queueSize + 1). */
  queueSize?: number;
  /** Keys per listing page; unset means the server's default (1000 on S3). */
  listPageSize?: number;
  /** Attempts per request (first try included), with the SDK's exponential backoff and jitter between them. */
  maxAttempts?: number;
  /** Milliseconds to establish a connection and to wait for a response before the attempt fails. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const mebibyte = 1024 * 1024;
export const defaultPartSize = 8 * mebibyte;
const minPartSize = 5 * mebibyte; // S3's limit for every part but the last
const deleteBatch = 1000; // DeleteObjects' limit

/**
 * Reads credentials from a mounted Secret whose keys are named like the environment variables
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN), so one Secret serves
 * both `envFrom` and a volume mount. A missing key is a config error naming the file.
 */
export async function credentialsFromDirectory(dir: string): Promise<S3Credentials> {
  const read = async (name: string, required: boolean): Promise<string | undefined> => {
    try {
      return (await readFile(join(dir, name), "utf8")).trim();
    } catch (err) {
      if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ObjectStoreError("credentials", `storage credentials: cannot read ${join(dir, name)}: ${(err as Error).message}`, {
        url: dir,
        code: (err as NodeJS.ErrnoException).code,
        cause: err,
      });
    }
  };
  const accessKeyId = (await read(S3_CREDENTIAL_FILES.accessKeyId, true))!;
  const secretAccessKey = (await read(S3_CREDENTIAL_FILES.secretAccessKey, true))!;
  const sessionToken = await read(S3_CREDENTIAL_FILES.sessionToken, false);
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

export function s3ClientConfig(config: S3StoreConfig): S3ClientConfig {
  return {
    region: config.region ?? process.env.AWS_REGION ?? "us-east-1",
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    maxAttempts: config.maxAttempts ?? 5,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: config.connectionTimeoutMs ?? 5_000,
      requestTimeout: config.requestTimeoutMs ?? 60_000,
    },
    // Since 3.729 the SDK adds CRC32 checksums (aws-chunked trailers) to every upload by
    // default; GCS's XML API and many S3-compatible stores reject or ignore them. The
    // manifest's sha256 of each part is our integrity check, so ask only where S3 requires it.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
}

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
