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
  error?: string;
}

/** The kubelet keeps at most 4096 bytes of a termination message. */
const maxErrorChars = 1500;

/** To the termination log (best effort: absent outside Kubernetes) and as the last stdout line. */
export async function emitSummary(summary: Summary, terminationLog: string, log: Logger): Promise<void> {
  const line = JSON.stringify({ ...summary, ...(summary.error !== undefined && { error: summary.error.slice(0, maxErrorChars) }) });
  await writeFile(terminationLog, line).catch((err: Error) => log.warn({ terminationLog, reason: err.message }, "cannot write the termination log"));
  process.stdout.write(`${line}\n`);
}
