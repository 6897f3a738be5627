// Where a run's checkpoints live, as the operator hands it to the trainer and the trainer reads
// it back: one type, one encoding into the protocol's variables and one decoding out of them,
// so the two programs cannot drift apart on a grammar (docs/trainer-protocol.md, "Start").
import { ENV } from "./env.js";

/** A directory, on the PVC the operator mounts there. */
export interface VolumeLocation {
  kind: "volume";
  /** The checkpoint directory (RESUMABLE_CHECKPOINT_DIR). */
  directory: string;
  /** The PVC mounted at `directory`, where the operator knows it; the trainer sees only the directory. */
  claimName?: string | undefined;
}

/** A key prefix in an S3-compatible bucket. */
export interface BucketLocation {
  kind: "bucket";
  bucket: string;
  /** Without leading or trailing "/"; "" for the bucket's root. */
  prefix: string;
  /** The store's endpoint; undefined: AWS S3. */
  endpoint?: string | undefined;
  /** The bucket's region; undefined: AWS_REGION, else us-east-1. */
  region?: string | undefined;
  /** A mounted Secret's directory; undefined: the AWS SDK's default credential chain. */
  credentialsDir?: string | undefined;
}

export type CheckpointLocation = VolumeLocation | BucketLocation;

/**
 * A bucket name as S3 allows it (3-63 lower-case letters, digits, "." and "-", alphanumeric at
 * both ends) and GCS too ("_"). Patterns are strings so the CRD's CEL rules and zod are built
 * from the same text.
 */
export const BUCKET_NAME = {
  minLength: 3,
  maxLength: 63,
  pattern: "^[a-z0-9][a-z0-9._-]*[a-z0-9]$",
  patternMessage: "must be a bucket name: lower-case letters, digits, '.', '-' or '_', starting and ending with a letter or digit",
  adjacentPeriods: "..",
  adjacentPeriodsMessage: "must be a bucket name: no two adjacent periods",
  ipAddressPattern: "^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$",
  ipAddressMessage: "must be a bucket name, not an IP address",
} as const;

/** Keys under the bucket: the trainer refuses "." and ".." segments, S3 keys are at most 1024 bytes. */
export const OBJECT_PREFIX = {
  maxLength: 512,
  leadingSlashPattern: "^[^/]",
  leadingSlashMessage: "must not start with '/': it is a key prefix inside the bucket",
  dotSegmentPattern: "(^|/)[.][.]?(/|$)",
  dotSegmentMessage: "must not contain '.' or '..' segments",
} as const;

/** The object store's endpoint. */
export const ENDPOINT = {
  maxLength: 2048,
  pattern: "^https?://[^/\\s]+\\S*$",
  message: "must be an http:// or https:// URL",
} as const;

/** Why `name` is no bucket name, or undefined when it is one. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < BUCKET_NAME.minLength || name.length > BUCKET_NAME.maxLength) {
    return `must be a bucket name: ${BUCKET_NAME.minLength}-${BUCKET_NAME.maxLength} characters, not ${name.length}`;
  }
  if (!new RegExp(BUCKET_NAME.pattern).test(name)) return BUCKET_NAME.patternMessage;
  if (name.includes(BUCKET_NAME.adjacentPeriods)) return BUCKET_NAME.adjacentPeriodsMessage;
  if (new RegExp(BUCKET_NAME.ipAddressPattern).test(name)) return BUCKET_NAME.ipAddressMessage;
  return undefined;
}

/** Why `prefix` is no key prefix, or undefined when it is one ("" is the bucket's root). */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.length > OBJECT_PREFIX.maxLength) return `must be at most ${OBJECT_PREFIX.maxLength} characters, not ${prefix.length}`;
  if (prefix !== "" && !new RegExp(OBJECT_PREFIX.leadingSlashPattern).test(prefix)) return OBJECT_PREFIX.leadingSlashMessage;
  if (new RegExp(OBJECT_PREFIX.dotSegmentPattern).test(prefix)) return OBJECT_PREFIX.dotSegmentMessage;
  return undefined;
}

/** Why `endpoint` is no endpoint, or undefined when it is one. */
export function endpointProblem(endpoint: string): string | undefined {
  if (endpoint.length > ENDPOINT.maxLength) return `must be at most ${ENDPOINT.maxLength} characters, not ${endpoint.length}`;
  return new RegExp(ENDPOINT.pattern).test(endpoint) ? undefined : ENDPOINT.message;
}

/** A location the environment names wrongly, or does not name at all; the message names the variable. */
export class CheckpointLocationError extends Error {
  override name = "CheckpointLocationError";
}

/** s3://bucket/prefix, as S3 tools write it: RESUMABLE_CHECKPOINT_URL. */
export function bucketUrl(location: Pick<BucketLocation, "bucket" | "prefix">): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/** How status.checkpointStorage, `kubectl get tr` and the CLI name a location: s3://bucket/prefix, pvc/<claim>, else the directory. */
export function locationName(location: CheckpointLocation): string {
  if (location.kind === "bucket") return bucketUrl(location);
  return location.claimName === undefined ? location.directory : `pvc/${location.claimName}`;
}

/**
 * The protocol's variables for a location, in the order the operator sets them: the directory,
 * or the bucket's URL, endpoint, region and credentials directory (unset ones left out).
 */
function toEnv(location: CheckpointLocation): Record<string, string> {
  if (location.kind === "volume") return { [ENV.checkpointDir]: location.directory };
  return {
    [ENV.checkpointUrl]: bucketUrl(location),
    ...(location.endpoint === undefined ? {} : { [ENV.s3Endpoint]: location.endpoint }),
    ...(location.region === undefined ? {} : { [ENV.s3Region]: location.region }),
    ...(location.credentialsDir === undefined ? {} : { [ENV.s3CredentialsDir]: location.credentialsDir }),
  };
}

/**
 * The location the protocol's variables name: RESUMABLE_CHECKPOINT_URL when set (then
 * RESUMABLE_CHECKPOINT_DIR is not used), else RESUMABLE_CHECKPOINT_DIR. An empty variable
 * counts as unset. Throws CheckpointLocationError naming the variable and the problem.
 */
function fromEnv(env: Readonly<Record<string, string | undefined>>): CheckpointLocation {
  const url = env[ENV.checkpointUrl];
  if (url === undefined || url === "") {
    const directory = env[ENV.checkpointDir] ?? "";
    if (directory === "") {
      throw new CheckpointLocationError(`${ENV.checkpointDir} is required: the directory checkpoints are written to (or ${ENV.checkpointUrl}=s3://bucket/prefix for object storage)`);
    }
    return { kind: "volume", directory };
  }
  const endpoint = env[ENV.s3Endpoint] || undefined;
  const endpointWrong = endpoint === undefined ? undefined : endpointProblem(endpoint);
  if (endpointWrong !== undefined) throw new CheckpointLocationError(`${ENV.s3Endpoint}=${JSON.stringify(endpoint)}: ${endpointWrong}`);
  return {
    kind: "bucket",
    ...parseBucketUrl(url),
    endpoint,
    region: env[ENV.s3Region] || undefined,
    credentialsDir: env[ENV.s3CredentialsDir] || undefined,
  };
}

/** bucketUrl's inverse; a prefix's leading and trailing "/" mean nothing. */
function parseBucketUrl(url: string): { bucket: string; prefix: string } {
  const wrong = (problem: string) => new CheckpointLocationError(`${ENV.checkpointUrl}=${JSON.stringify(url)}: ${problem}`);
  // The s flag: a key may hold any character, a line break too.
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(url);
  if (!m) throw wrong("expected s3://bucket/prefix");
  const bucket = m[1] ?? "";
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  const bucketWrong = bucketNameProblem(bucket);
  if (bucketWrong !== undefined) throw wrong(`the bucket ${JSON.stringify(bucket)} ${bucketWrong}`);
  const prefixWrong = prefixProblem(prefix);
  if (prefixWrong !== undefined) throw wrong(`the prefix ${JSON.stringify(prefix)} ${prefixWrong}`);
  return { bucket, prefix };
}

/** The location's encoding into the protocol's variables and back: fromEnv(toEnv(l)) is l. */
export const CheckpointLocation = { toEnv, fromEnv } as const;
