import { isDeepStrictEqual } from "node:util";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The RFC 7386 merge patch that turns `from` into `to`: changed or added keys with their
 * new value, removed keys as null, arrays whole. Undefined when nothing changed, so a
 * caller can skip the write.
 */
export function mergePatchBetween(from: unknown, to: unknown): Json | undefined {
  if (!isPlainObject(from) || !isPlainObject(to)) {
    return isDeepStrictEqual(from, to) ? undefined : (JSON.parse(JSON.stringify(to ?? null)) as Json);
  }
  const patch: Record<string, Json> = {};
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const change = key in from && from[key] !== undefined ? mergePatchBetween(from[key], value) : mergePatchBetween(undefined, value);
    if (change !== undefined) patch[key] = change;
  }
  for (const [key, value] of Object.entries(from)) {
    if (value !== undefined && to[key] === undefined) patch[key] = null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
