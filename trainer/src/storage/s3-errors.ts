import { ObjectStoreError, type ObjectStoreErrorKind } from "./object-store.js";

/** What an AWS SDK v3 error carries (service errors) or a Node system error (network). */
interface SdkLikeError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const credentialCodes = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AccountProblem",
  "AllAccessDisabled",
  "CredentialsProviderError",
]);

const notFoundCodes = new Set(["NoSuchKey", "NotFound", "NoSuchVersion"]);
const bucketCodes = new Set(["NoSuchBucket"]);
const existsCodes = new Set(["PreconditionFailed", "ConditionalRequestConflict"]);
const ioCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "InternalError",
  "ServiceUnavailable",
]);

function kindOf(code: string | undefined, status: number | undefined): ObjectStoreErrorKind | undefined {
  if (code === "AbortError") return "aborted";
  if (code && bucketCodes.has(code)) return "bucket";
  if (code && notFoundCodes.has(code)) return "notFound";
  if (code && credentialCodes.has(code)) return "credentials";
  if (code && existsCodes.has(code)) return "exists";
  if (code && ioCodes.has(code)) return "io";
  // A HEAD response has no body, so the SDK only knows the status.
  if (status === 404) return "notFound";
  if (status === 401 || status === 403) return "credentials";
  if (status === 412) return "exists";
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return "io";
  if (status !== undefined && status >= 300) return "rejected";
  return undefined;
}

const advice: Record<ObjectStoreErrorKind, string> = {
  notFound: "no such object",
  exists: "the object already exists (a conditional create lost to another writer)",
  credentials:
    "the storage server refused the credentials; check the run's storage credentials (access key id and secret, or the pod's workload identity) and their permissions on the bucket",
  bucket: "the bucket does not exist; check the run's bucket name, region and endpoint",
  tooLarge: "the object is larger than allowed",
  io: "storage I/O error (network, timeout or server error) after retries",
  rejected: "the storage server rejected the request",
  aborted: "the operation was aborted",
};

/**
 * Turns an SDK or network error into an ObjectStoreError whose message names the operation,
 * the object and the server's own words. Anything that is neither (a TypeError, say) is a bug
 * in our code, not a storage failure, and is returned unchanged so it is not retried as I/O.
 */
export function classifyS3Error(err: unknown, operation: string, url: string): Error {
  if (err instanceof ObjectStoreError) return err;
  if (typeof err !== "object" || err === null) return new Error(String(err));
  const e = err as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  // Service errors name their S3 code in `name` (or `Code`); network errors are plain Errors
  // whose `code` is the errno. The first that means something wins.
  let code: string | undefined;
  let kind: ObjectStoreErrorKind | undefined;
  for (const candidate of [e.Code, e.name, e.code]) {
    kind = candidate ? kindOf(candidate, undefined) : undefined;
    if (kind) {
      code = candidate;
      break;
    }
  }
  kind ??= kindOf(undefined, status);
  code ??= e.Code ?? e.code ?? e.name;
  if (!kind) return err as Error;
  const said = [code, status ? `HTTP ${status}` : undefined, e.message && e.message !== code ? e.message : undefined]
    .filter(Boolean)
    .join(", ");
  return new ObjectStoreError(kind, `${operation} ${url}: ${advice[kind]} (server said: ${said || "nothing"})`, {
    url,
    code,
    httpStatus: status,
    cause: err,
  });
}
