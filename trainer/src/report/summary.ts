import { writeFile } from "node:fs/promises";
import { MAX_MESSAGE_CHARS, type ExitSummary } from "@resumable/protocol";
import type { Logger } from "../log.js";

/** The one JSON object written at exit (docs/trainer-protocol.md, "Summary at exit"). */
export type Summary = ExitSummary;
export type { Failure } from "@resumable/protocol";

/** To the termination log (best effort: absent outside Kubernetes) and as the last stdout line. */
export async function emitSummary(summary: Summary, terminationLog: string, log: Logger): Promise<void> {
  const clip = (message: string) => message.slice(0, MAX_MESSAGE_CHARS);
  const line = JSON.stringify({
    ...summary,
    ...(typeof summary.error === "string" && { error: clip(summary.error) }),
    ...(summary.failure && { failure: { ...summary.failure, message: clip(summary.failure.message) } }),
  });
  await writeFile(terminationLog, line).catch((err: Error) => log.warn({ terminationLog, reason: err.message }, "cannot write the termination log"));
  process.stdout.write(`${line}\n`);
}
