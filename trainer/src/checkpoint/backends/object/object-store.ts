/**
 * What the checkpoint store needs from an object store (S3 and its look-alikes): no rename, no
 * directories, so a commit is "upload the parts, then write the manifest last". Keys are
 * relative to the store's root (bucket + prefix); the backend adds the root.
 */
export interface ObjectStore {
  /** Where the root is, as a user would write it: `s3://bucket/prefix`. */
  readonly location: string;
  /** The URL of one key, for status and logs: `s3://bucket/prefix/key`. */
  url(key: string): string;
  /**
   * Uploads a body given as chunks; large bodies go up as parallel multipart parts, each part
   * buffered once on its way out, so the caller's chunks are never copied whole.
   */
  putObject(key: string, body: ObjectBody, options?: PutOptions): Promise<PutResult>;
  /** Reads a whole object; refuses (kind "tooLarge") one bigger than `maxBytes`. */
  getObject(key: string, options: GetOptions): Promise<Buffer>;
  /** getObject with the ETag of the version read, for a conditional replace (PutOptions.ifMatch). */
  getObjectVersioned(key: string, options: GetOptions): Promise<{ body: Buffer; etag: string | undefined }>;
  /** Size and ETag of a key, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order, one listing page at a time. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** The "sub-directories" one level below `prefix` (which should end in "/"), each ending in "/". */
  listPrefixes(prefix: string): AsyncIterable<string>;
  /** Removes a key; removing a key that is not there is not an error (as in S3). */
  delete(key: string): Promise<void>;
  /** Removes every key under `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Server-side copy (no bytes through the trainer): with delete, how a quarantine moves a
   * prefix. Fails with kind "tooLarge" for an object bigger than one copy request takes (S3: 5 GiB).
   */
  copy(fromKey: string, toKey: string): Promise<void>;
}

export type ObjectBody = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface PutOptions {
  /**
   * Conditional create (If-None-Match: *): fails with kind "exists" when the key is there,
   * unless what is there is this very body (a retry of a PUT that landed, its answer lost).
   */
  ifAbsent?: boolean;
  /** Conditional replace (If-Match: etag): fails with kind "exists" when the object changed since it was read (but not into this body). */
  ifMatch?: string;
  /** Aborts the upload (a multipart upload is then aborted on the server too). */
  signal?: AbortSignal;
}

export interface PutResult {
  etag?: string;
}

export interface GetOptions {
  maxBytes: number;
  signal?: AbortSignal;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

/**
 * Why a storage call failed. Each kind has its own path in the caller:
 * - notFound: the key (or its bucket's object) is not there; a fact, not a failure.
 * - exists: a conditional create found the key already written (another writer won).
 * - credentials: no credentials configured, unknown key, wrong secret or denied: the user must fix config.
 * - bucket: the bucket does not exist: the user must fix config.
 * - tooLarge: an object is bigger than the reader allows (the data is suspect, not the storage),
 *   or than one copy request takes (a limit of the call).
 * - io: network, timeout, throttling or a 5xx after retries, or a credentials source (instance
 *   metadata, STS, the pod identity agent) that does not answer: infrastructure, worth retrying later.
 * - rejected: the server refused the request for another reason (a 4xx we did not expect).
 * - aborted: the caller's signal fired.
 */
export type ObjectStoreErrorKind = "notFound" | "exists" | "credentials" | "bucket" | "tooLarge" | "io" | "rejected" | "aborted";

export class ObjectStoreError extends Error {
  override readonly name = "ObjectStoreError";
  constructor(
    readonly kind: ObjectStoreErrorKind,
    message: string,
    readonly details: {
      /** The object's URL (or the store's location for calls on many keys). */
      url: string;
      /** The server's or the network's error code: "NoSuchKey", "InvalidAccessKeyId", "ECONNREFUSED". */
      code?: string;
      httpStatus?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
  }

  /** True for the kinds a later attempt may get past without anyone changing anything. */
  get retryable(): boolean {
    return this.kind === "io";
  }

  /** True for the kinds only a change to the run's storage settings or credentials can fix. */
  get needsConfigChange(): boolean {
    return this.kind === "credentials" || this.kind === "bucket";
  }
}
