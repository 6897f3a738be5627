import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { z } from "zod";
import { PROGRESS_ANNOTATION } from "../api/group.js";
import { checkpointInfoSchema, trainerSummarySchema, type CheckpointInfo, type TrainerSummary } from "../api/status.js";

/** The trainer container's name in every trainer pod. */
export const TRAINER_CONTAINER = "trainer";

/** The trainer writes null for "none yet"; the operator's types say undefined. */
const orNull = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** The `resumable.dev/progress` annotation (docs/trainer-protocol.md). */
const progressReportSchema = z.object({
  step: z.int().nonnegative(),
  totalSteps: orNull(z.int()),
  epoch: orNull(z.number()),
  loss: orNull(z.number()),
  // null: started fresh, i.e. from step 0; absent: a trainer that does not say.
  resumedFromStep: z.int().nonnegative().nullable().transform((v) => v ?? 0).optional(),
  checkpoint: orNull(checkpointInfoSchema),
  updatedAt: orNull(z.string()),
});
export interface ProgressReport {
  step: number;
  totalSteps?: number;
  epoch?: number;
  loss?: number;
  resumedFromStep?: number;
  checkpoint?: CheckpointInfo;
  updatedAt?: string;
}

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
  const whole = trainerSummarySchema.safeParse(parseJson(message, dropNull));
  if (whole.success) return whole.data;
  const lastLine = message.trimEnd().split("\n").pop();
  return lastLine === undefined ? undefined : trainerSummarySchema.safeParse(parseJson(lastLine, dropNull)).data;
}

/** JSON.parse reviver: the summary goes into status as is, and null fields say nothing. */
const dropNull = (_key: string, value: unknown) => (value === null ? undefined : value);

function parseJson(text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(text, reviver);
  } catch {
    return undefined;
  }
}
