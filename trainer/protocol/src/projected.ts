import type { z } from "zod";

/**
 * An annotation's JSON value as a downwardAPI volume projects it into a file: `none` for an
 * empty file (no annotation: the kubelet writes an empty string), `invalid` with the reason
 * for anything that is not JSON of the schema. The one reader of the checkpoint request and
 * the gang's peers.
 */
export function parseProjected<T>(text: string, schema: z.ZodType<T>): { kind: "none" } | { kind: "value"; value: T } | { kind: "invalid"; reason: string } {
  if (text.trim() === "") return { kind: "none" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: "invalid", reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { kind: "invalid", reason: parsed.error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ") };
  return { kind: "value", value: parsed.data };
}
