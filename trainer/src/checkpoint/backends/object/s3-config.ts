import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { S3_CREDENTIAL_FILES } from "@resumable/protocol";
import { ObjectStoreError } from "./object-store.js";

// How the S3 client is set up: where, with which credentials, retries and timeouts.

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
export const minPartSize = 5 * mebibyte; // S3's limit for every part but the last

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
