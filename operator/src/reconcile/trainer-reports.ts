import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { z } from "zod";
import { PROGRESS_ANNOTATION } from "../api/group.js";
import { checkpointInfoSchema, trainerSummarySchema, type TrainerSummary } from "../api/status.js";

/** The trainer container's name in every trainer pod. */
export const TRAINER_CONTAINER = "trainer";

/** The `resumable.dev/progress` annotation (docs/trainer-protocol.md). */
const progressReportSchema = z.object({
  step: z.int().nonnegative(),
  totalSteps: z.int().optional(),
  epoch: z.number().optional(),
  loss: z.number().optional(),
  resumedFromStep: z.int().nonnegative().optional(),
  checkpoint: checkpointInfoSchema.optional(),
  updatedAt: z.string().optional(),
});
export type ProgressReport = z.infer<typeof progressReportSchema>;

/** The trainer's latest progress report, or undefined when absent or malformed (never trusted blindly). */
export function readProgress(pod: V1Pod): ProgressReport | undefined {
  const raw = pod.metadata?.annotations?.[PROGRESS_ANNOTATION];
  if (raw === undefined) return undefined;
  return progressReportSchema.safeParse(parseJson(raw)).data;
}

export function trainerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER);
}

/**
 * The summary the trainer left in its termination message. The pod uses
 * FallbackToLogsOnError, so the message may be log tail instead: the summary is then
 * the last line, as the protocol prints it last on stdout.
 */
export function readSummary(message: string | undefined): TrainerSummary | undefined {
  if (message === undefined) return undefined;
  const whole = trainerSummarySchema.safeParse(parseJson(message));
  if (whole.success) return whole.data;
  const lastLine = message.trimEnd().split("\n").pop();
  return lastLine === undefined ? undefined : trainerSummarySchema.safeParse(parseJson(lastLine)).data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
