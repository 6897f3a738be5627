import { writeFile } from "node:fs/promises";
import type { Logger } from "../log.js";

/** The one JSON object written at exit (docs/trainer-protocol.md, "Summary at exit"). */
export interface Summary {
  reason: "completed" | "preempted" | "failed";
  step: number | null;
  totalSteps: number | null;
  epoch: number | null;
  loss: number | null;
  checkpoint: { step: number; path: string; bytes: number; saveSeconds: number } | null;
  resumedFromStep: number | null;
  attempt: number | null;
  backend: string | null;
  weightsSha256: string | null;
  /** At completion: the share of training examples the final model classifies right. */
  accuracy: number | null;
  /** `${name}: ${message}` of the failure; kept for compatibility, same text as failure.message. */
  error?: string;
  /** Why the run failed, for the operator to tell causes apart (exit codes in main.ts). */
  failure?: Failure;
}

export interface Failure {
  kind: "error" | "config" | "fenced" | "storage" | "checkpointsUnusable" | "diverged";
  message: string;
  /** The file or directory an I/O error was about. */
  path?: string;
  /** The errno, e.g. EACCES. */
  code?: string;
}

/** The kubelet keeps at most 4096 bytes of a termination message; error and failure.message share it. */
const maxErrorChars = 1200;

/** To the termination log (best effort: absent outside Kubernetes) and as the last stdout line. */
export async function emitSummary(summary: Summary, terminationLog: string, log: Logger): Promise<void> {
  const line = JSON.stringify({
    ...summary,
    ...(summary.error !== undefined && { error: summary.error.slice(0, maxErrorChars) }),
    ...(summary.failure !== undefined && { failure: { ...summary.failure, message: summary.failure.message.slice(0, maxErrorChars) } }),
  });
  await writeFile(terminationLog, line).catch((err: Error) => log.warn({ terminationLog, reason: err.message }, "cannot write the termination log"));
  process.stdout.write(`${line}\n`);
}
