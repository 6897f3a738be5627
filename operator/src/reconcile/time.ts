/**
 * Kubernetes timestamps arrive as Date objects from list calls (ObjectSerializer) and as
 * RFC 3339 strings from watch events (plain JSON.parse); read them only through this.
 */
export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Status timestamps are written as RFC 3339 strings, whatever the input was. */
export function toTimestamp(value: Date): string {
  return value.toISOString();
}
