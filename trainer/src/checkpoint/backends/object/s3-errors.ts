import { ObjectStoreError, type ObjectStoreErrorKind } from "./object-store.js";

/** What an AWS SDK v3 error carries (service errors) or a Node system error (network). */
interface SdkLikeError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The store's (or STS's, for a web identity) own refusal of the credentials: permanent. */
const credentialCodes = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AccountProblem",
  "AllAccessDisabled",
  "InvalidIdentityToken",
  "InvalidIdentityTokenException",
  "IDPRejectedClaim",
  "IDPRejectedClaimException",
  "RegionDisabledException",
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
  "IDPCommunicationError",
  "IDPCommunicationErrorException",
  // STS on an expired projected service-account token: the kubelet renews the file, so a later
  // attempt reads a fresh one.
  "ExpiredTokenException",
]);

/**
 * The SDK's credential providers fail as CredentialsProviderError (ProviderError for some).
 * The default chain hides why its remote sources failed: the pod identity agent
 * (AWS_CONTAINER_CREDENTIALS_*) or the instance metadata service is tried last, and a timeout,
 * a 5xx or a refused connection there ends as "Could not load credentials from any providers".
 * With such a source in play that is I/O, worth retrying. With none (no container URI and
 * AWS_EC2_METADATA_DISABLED set) no credentials are configured; that, and a provider that
 * stops the chain on its own (a broken profile), is permanent.
 */
const providerErrorNames = new Set(["CredentialsProviderError", "ProviderError"]);
const chainExhausted = "Could not load credentials from any providers";

function remoteCredentialSource(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return "the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*)";
  const disabled = env.AWS_EC2_METADATA_DISABLED;
  return disabled && disabled !== "false" ? undefined : "the instance metadata service";
}

function providerErrorKind(e: SdkLikeError, env: NodeJS.ProcessEnv): { kind: ObjectStoreErrorKind; advice?: string } {
  if (!e.message?.includes(chainExhausted)) return { kind: "credentials" };
  const source = remoteCredentialSource(env);
  if (source === undefined) {
    return { kind: "credentials", advice: "no storage credentials are configured: give the run a credentials Secret or a workload identity" };
  }
  return {
    kind: "io",
    advice:
      `no storage credentials yet: ${source}, the last source tried, gave none (a timeout, a server error, or no role attached); ` +
      "retried. Without such a source, give the run a credentials Secret or set AWS_EC2_METADATA_DISABLED=true",
  };
}

/** S3 refuses a CopyObject of a source over 5 GiB: a limit of the call, not a fault of the store. */
function isCopyTooLarge(code: string | undefined, message: string | undefined): boolean {
  return code === "EntityTooLarge" || (code === "InvalidRequest" && /larger than the maximum allowable size/i.test(message ?? ""));
}

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
  tooLarge: "the object is larger than allowed (for a copy: larger than the store copies in one request)",
  io: "storage I/O error (network, timeout or server error) after retries",
  rejected: "the storage server rejected the request",
  aborted: "the operation was aborted",
};

/**
 * Turns an SDK or network error into an ObjectStoreError whose message names the operation,
 * the object and the server's own words. Anything that is neither (a TypeError, say) is a bug
 * in our code, not a storage failure, and is returned unchanged so it is not retried as I/O.
 */
export function classifyS3Error(err: unknown, operation: string, url: string, env: NodeJS.ProcessEnv = process.env): Error {
  if (err instanceof ObjectStoreError) return err;
  if (typeof err !== "object" || err === null) return new Error(String(err));
  const e = err as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  // Service errors name their S3 code in `name` (or `Code`); network errors are plain Errors
  // whose `code` is the errno. The first that means something wins.
  let code: string | undefined;
  let kind: ObjectStoreErrorKind | undefined;
  let why: string | undefined;
  for (const candidate of [e.Code, e.name, e.code]) {
    kind = candidate ? kindOf(candidate, undefined) : undefined;
    if (kind) {
      code = candidate;
      break;
    }
  }
  if (!kind && e.name && providerErrorNames.has(e.name)) {
    code = e.name;
    ({ kind, advice: why } = providerErrorKind(e, env));
  }
  kind ??= kindOf(undefined, status);
  code ??= e.Code ?? e.code ?? e.name;
  if (isCopyTooLarge(code, e.message)) kind = "tooLarge";
  if (!kind) return err as Error;
  const said = [code, status ? `HTTP ${status}` : undefined, e.message && e.message !== code ? e.message : undefined]
    .filter(Boolean)
    .join(", ");
  return new ObjectStoreError(kind, `${operation} ${url}: ${why ?? advice[kind]} (server said: ${said || "nothing"})`, {
    url,
    code,
    httpStatus: status,
    cause: err,
  });
}
