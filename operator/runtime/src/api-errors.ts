/**
 * The HTTP status of a failed client-node call: `code` on the generated clients'
 * ApiException, `statusCode` on Watch errors. Undefined for network errors (whose `code`
 * is a string such as ECONNREFUSED).
 */
export function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  const status = typeof e?.code === "number" ? e.code : e?.statusCode;
  // A DOMException (an aborted request) has a numeric `code` of its own: not a status.
  return typeof status === "number" && status >= 100 && status < 600 ? status : undefined;
}

/**
 * Why a request never got an HTTP answer: "timed out" when our own deadline aborted it,
 * the first error code down the cause chain (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, …),
 * else the innermost cause's message — undici's own "fetch failed" names nothing.
 * Undefined when the server answered.
 */
export function networkFailure(err: unknown): string | undefined {
  if (httpStatus(err) !== undefined) return undefined;
  let innermost: { message?: string } | undefined;
  for (let e = err as { name?: string; code?: unknown; cause?: unknown; message?: string } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e.name === "TimeoutError") return "timed out";
    if (typeof e.code === "string") return e.code;
    innermost = e;
  }
  const top = (err as { message?: string } | undefined)?.message;
  return top === "fetch failed" ? (innermost?.message ?? top) : undefined;
}

/** The message of the Status the apiserver answered with (client-node keeps the body as text). */
export function apiMessage(err: unknown): string | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  try {
    const status = (typeof body === "string" ? JSON.parse(body) : body) as { message?: unknown } | undefined;
    return typeof status?.message === "string" ? status.message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The apiserver refused the request itself (invalid, forbidden, over quota, an admission
 * webhook's no): retrying unchanged will not help until someone changes something.
 */
export function isRefusal(err: unknown): boolean {
  const status = httpStatus(err);
  return status === 400 || status === 403 || status === 422;
}

/** The metav1.Status the apiserver answered with, as far as a refusal needs it. */
interface ApiStatus {
  message?: string;
  reason?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

function apiStatus(err: unknown): ApiStatus | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  try {
    const status = typeof body === "string" ? JSON.parse(body) : body;
    return typeof status === "object" && status !== null ? (status as ApiStatus) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a refused write means for the run:
 * - invalid: the object itself breaks the API's validation (422 Invalid with field causes);
 *   sending it again can never succeed, only a changed spec can;
 * - quota: a ResourceQuota is exhausted (403 "exceeded quota"); it may free up;
 * - admission: a webhook or ValidatingAdmissionPolicy said no; its owner may change it;
 * - forbidden: any other 403 (RBAC, a missing ServiceAccount, Pod Security admission);
 * - other: any other 400/403/422.
 * Only `invalid` is permanent; the others are retried with backoff.
 */
export type Refusal =
  | { kind: "invalid"; message: string; causes: { field: string; message: string }[] }
  | { kind: "quota" | "admission" | "forbidden" | "other"; message: string };

/** Undefined when the apiserver did not refuse the request (see isRefusal). */
export function classifyRefusal(err: unknown): Refusal | undefined {
  if (!isRefusal(err)) return undefined;
  const status = apiStatus(err) ?? {};
  const message = status.message ?? `HTTP ${httpStatus(err)}`;
  // Admission plugins may answer with any code, 422 included (a policy's default reason is Invalid).
  if (/admission webhook ".*" denied the request|ValidatingAdmissionPolicy '.*' with binding '.*' denied request/.test(message)) {
    return { kind: "admission", message };
  }
  if (httpStatus(err) === 403) {
    return { kind: /exceeded quota/.test(message) ? "quota" : "forbidden", message };
  }
  const causes = (status.details?.causes ?? [])
    .filter((c) => typeof c.field === "string" && c.field !== "")
    .map((c) => ({ field: c.field as string, message: c.message ?? "" }));
  if (httpStatus(err) === 422 && status.reason === "Invalid" && causes.length > 0) {
    return { kind: "invalid", message, causes };
  }
  return { kind: "other", message };
}

/**
 * A failed call as log fields: the apiserver's own Status message and reason for an HTTP
 * answer, never client-node's ApiException text ("Unknown API Status Code!" plus the raw
 * body and headers); the network failure otherwise; the error itself for anything else.
 */
export function failureFields(err: unknown): Record<string, unknown> {
  const code = httpStatus(err);
  if (code !== undefined) {
    const status = apiStatus(err);
    return { httpStatus: code, ...(status?.reason ? { reason: status.reason } : {}), error: status?.message ?? `HTTP ${code}` };
  }
  const network = networkFailure(err);
  return network !== undefined ? { error: network } : { err };
}
