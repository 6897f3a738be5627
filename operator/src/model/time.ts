// The one reading of Kubernetes timestamps, and the one way status writes them.
/**
 * Kubernetes timestamps arrive as Date objects from list calls (ObjectSerializer) and as
 * RFC 3339 strings from watch events (plain JSON.parse); read them only through this.
 */
export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** An API timestamp younger than this (whole seconds plus watch latency) is "just now". */
const FRESH_MS = 2_000;

/**
 * When something the API stamped `at` (in whole seconds, truncated) happened: by our own
 * clock if we see it as it happens — off by watch latency, not by up to a second — else `at`.
 */
export function seenAt(at: number, now: Date): number {
  return now.getTime() - at < FRESH_MS ? now.getTime() : at;
}

/** Status timestamps are written as RFC 3339 strings, whatever the input was. */
export function toTimestamp(value: Date): string {
  return value.toISOString();
}
