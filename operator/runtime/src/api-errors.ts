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
