import { z } from "zod";
import { earlyCheckpointSchema } from "./checkpoint-request.js";

// The two reports a trainer makes: progress while it runs (an annotation on its own pod)
// and a summary at exit (its termination message). Both schemas say what a reader accepts:
// null means "none yet" wherever the reference trainer writes it, absent means "not said".

export const CHECKPOINT_REASONS = ["periodic", "preemption", "final"] as const;

/** The newest committed checkpoint as the progress report gives it. */
export const checkpointReportSchema = z.object({
  step: z.int().nonnegative(),
  time: z.string().optional(),
  bytes: z.int().nonnegative().optional(),
  reason: z.enum(CHECKPOINT_REASONS).optional(),
  /** Where it is: its directory, or its object URL (s3://bucket/prefix/ckpt-...); absent: a trainer that does not say. */
  path: z.string().optional(),
});
export type CheckpointReport = z.infer<typeof checkpointReportSchema>;

/** Non-null while periodic saves fail; null again once one succeeds. */
export const checkpointFailureSchema = z.object({
  /** ISO time of the first failure of the current streak. */
  since: z.string(),
  /** Failed saves in a row. */
  failures: z.int().positive(),
  /** The newest failure, in the trainer's words. */
  message: z.string(),
});
export type CheckpointFailure = z.infer<typeof checkpointFailureSchema>;

/** The checkpoint interval in force under `everySteps: "auto"`, and what it rests on. */
export const checkpointIntervalSchema = z.object({
  steps: z.int().positive(),
  seconds: z.number().nonnegative(),
  /** The most a hard loss can cost with it: the interval and the write of a save in flight. */
  lostSteps: z.int().nonnegative().optional(),
  /** Which bound decided: "write", "overhead", "lost-work" or "optimal" (a newer trainer may say more). */
  bound: z.string(),
  /** The share of training time saves hold the loop. */
  overhead: z.number().nonnegative(),
});
export type CheckpointInterval = z.infer<typeof checkpointIntervalSchema>;

/** The `resumable.dev/progress` annotation's JSON value. */
export const progressSchema = z.object({
  step: z.int().nonnegative(),
  totalSteps: z.int().nullish(),
  epoch: z.number().nullish(),
  /** null: the last loss was not finite (JSON has no NaN). */
  loss: z.number().nullish(),
  /** null: started fresh, from step 0; absent: a trainer that does not say. */
  resumedFromStep: z.int().nonnegative().nullish(),
  checkpoint: checkpointReportSchema.nullish(),
  checkpointFailure: checkpointFailureSchema.nullish(),
  /** The newest checkpoint saved on a checkpoint request (a reclaim notice); absent: none, or a trainer that does not say. */
  earlyCheckpoint: earlyCheckpointSchema.nullish().catch(undefined),
  /** Under `everySteps: "auto"`; absent otherwise. */
  checkpointInterval: checkpointIntervalSchema.nullish().catch(undefined),
  /**
   * What a final flush at SIGTERM is measured to take (the step in progress, the snapshot and
   * the write), in seconds: the operator warns (FlushAtRisk) when it does not fit the grace
   * period. Absent: not measured yet, or a trainer that does not say.
   */
  flushSeconds: z.number().nonnegative().nullish().catch(undefined),
  updatedAt: z.string().nullish(),
  /** A gang's rank and size (docs/trainer-protocol.md, "Gangs"); absent: one pod, or a trainer that does not say. */
  rank: z.int().nonnegative().nullish(),
  worldSize: z.int().positive().nullish(),
});
/** What a trainer writes. */
export type ProgressReport = z.input<typeof progressSchema>;
/** What a reader gets from parseProgress. */
export type ParsedProgress = z.output<typeof progressSchema>;

/**
 * `storageRefused` comes with exit 2 (`config`): the checkpoint store refused the trainer
 * (unknown key, wrong secret, access denied, no such bucket) or its credentials are not
 * configured at all. The run's storage settings are wrong, not its training config.
 * `locationOwned` comes with exit 2 too: the checkpoint location belongs to another run (its
 * fence or manifests name another namespace/name/uid), so the trainer touched nothing there.
 */
export const FAILURE_KINDS = ["error", "config", "storageRefused", "locationOwned", "fenced", "storage", "checkpointsUnusable", "diverged", "peerLost"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Why a `failed` summary failed, in the trainer's own words. */
export const failureSchema = z.looseObject({
  kind: z.enum(FAILURE_KINDS),
  message: z.string(),
  /** The file or directory the failure is about, if any. */
  path: z.string().optional(),
  /** The errno code of an I/O failure, e.g. EACCES. */
  code: z.string().optional(),
});
export type Failure = z.infer<typeof failureSchema>;

export const SUMMARY_REASONS = ["completed", "preempted", "failed"] as const;

/** What a summary says about the run besides its reason; a trainer may write null for any of them. */
const summaryValues = {
  step: z.int(),
  totalSteps: z.int(),
  epoch: z.number(),
  loss: z.number(),
  /** The newest committed checkpoint (for `failed`: an older save, already reported in progress). */
  checkpoint: z.looseObject({
    step: z.int().optional(),
    path: z.string().optional(),
    bytes: z.int().optional(),
    saveSeconds: z.number().optional(),
  }),
  /** As in progress: null is a fresh start. */
  resumedFromStep: z.int().nonnegative(),
  attempt: z.int(),
  backend: z.string(),
  weightsSha256: z.string(),
  accuracy: z.number(),
  /** As in progress: a gang's rank and size; absent for one pod. */
  rank: z.int().nonnegative(),
  worldSize: z.int().positive(),
};
type SummaryValues = typeof summaryValues;
const eachValue = <T>(wrap: (schema: SummaryValues[keyof SummaryValues]) => z.ZodType): T =>
  Object.fromEntries(Object.entries(summaryValues).map(([key, schema]) => [key, wrap(schema)])) as T;

const exitSummaryFields = z.object({
  reason: z.enum(SUMMARY_REASONS),
  ...eachValue<{ [K in keyof SummaryValues]: z.ZodOptional<z.ZodNullable<SummaryValues[K]>> }>((schema) => schema.nullish()),
  /** `Name: message`; kept next to failure.message (the same text) for older readers. */
  error: z.string().nullish(),
  // A failure this reader cannot parse is dropped, not the whole summary with it.
  failure: failureSchema.nullish().catch(undefined),
});
/** The JSON object a trainer writes to its termination log at exit. Unknown fields are kept. */
export const exitSummarySchema = exitSummaryFields.loose();
/**
 * A completed run's summary as a record keeps it (the operator's status.result): the same
 * fields with their nulls left out, unknown ones kept.
 */
export const summaryRecordSchema = z.looseObject({
  reason: z.enum(SUMMARY_REASONS),
  ...eachValue<{ [K in keyof SummaryValues]: z.ZodOptional<SummaryValues[K]> }>((schema) => schema.optional()),
});
/** What a trainer writes. */
export type ExitSummary = z.input<typeof exitSummaryFields>;
/** What a reader gets from parseExitSummary. */
export type ParsedExitSummary = z.output<typeof exitSummarySchema>;

/** The kubelet keeps at most 4096 bytes of a termination message; messages stay well below. */
export const MAX_MESSAGE_CHARS = 1200;

/** The progress annotation's value, or undefined when malformed: never trusted blindly. */
export function parseProgress(value: string | undefined): ParsedProgress | undefined {
  return value === undefined ? undefined : progressSchema.safeParse(parseJson(value)).data;
}

/**
 * The summary in a termination message. A pod with FallbackToLogsOnError may carry the log
 * tail instead: the summary is then its last line, as the trainer prints it last on stdout.
 */
export function parseExitSummary(message: string | undefined): ParsedExitSummary | undefined {
  if (message === undefined) return undefined;
  const whole = exitSummarySchema.safeParse(parseJson(message));
  if (whole.success) return whole.data;
  const lastLine = message.trimEnd().split("\n").pop();
  return lastLine === undefined ? undefined : exitSummarySchema.safeParse(parseJson(lastLine)).data;
}

/** Where an attempt resumed from: a fresh start (null) is step 0; undefined when not said. */
export function resumedFrom(report: { resumedFromStep?: number | null | undefined }): number | undefined {
  return report.resumedFromStep === null ? 0 : report.resumedFromStep;
}

/** The trainer's own account of why it failed, if it gave one. */
export function failureMessage(summary: ParsedExitSummary | undefined): string | undefined {
  return summary?.failure?.message ?? summary?.error ?? undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
