/**
 * The HTTP status of a failed client-node call: `code` on the generated clients'
 * ApiException, `statusCode` on Watch errors. Undefined for network errors (whose `code`
 * is a string such as ECONNREFUSED).
 */
export function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.code === "number") return e.code;
  if (typeof e?.statusCode === "number") return e.statusCode;
  return undefined;
}
