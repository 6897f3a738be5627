import { z } from "zod";

/** RFC 3339 timestamps, as the apiserver stores them. */
const time = z.string();

export const PHASES = ["Pending", "Running", "Restarting", "Suspended", "Succeeded", "Failed"] as const;
export type Phase = (typeof PHASES)[number];

/** metav1.Condition. */
export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: time,
  observedGeneration: z.int().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

export const CHECKPOINT_REASONS = ["periodic", "preemption", "final"] as const;

export const checkpointInfoSchema = z.object({
  step: z.int(),
  time: time.optional(),
  bytes: z.int().optional(),
  reason: z.enum(CHECKPOINT_REASONS).optional(),
});
export type CheckpointInfo = z.infer<typeof checkpointInfoSchema>;

export const progressSchema = z.object({
  step: z.int(),
  totalSteps: z.int().optional(),
  epoch: z.number().optional(),
  loss: z.number().optional(),
  updatedAt: time.optional(),
});
export type Progress = z.infer<typeof progressSchema>;

/** How an attempt ended: the budget it counts against follows from it. */
export const END_REASONS = ["Succeeded", "Preempted", "Failed", "Suspended"] as const;
export type EndReason = (typeof END_REASONS)[number];

export const attemptRecordSchema = z.object({
  attempt: z.int(),
  pod: z.string(),
  /** Set once the operator has seen the pod: a recorded pod that disappears was deleted. */
  uid: z.string().optional(),
  node: z.string().optional(),
  startTime: time.optional(),
  endTime: time.optional(),
  endReason: z.enum(END_REASONS).optional(),
  /** The signal behind endReason, e.g. EvictionByEvictionAPI, OOMKilled, ExitCode. */
  endDetail: z.string().optional(),
  exitCode: z.int().optional(),
  resumedFromStep: z.int().optional(),
  /** The highest step this attempt is known to have reached; lostSteps is computed from it. */
  reachedStep: z.int().optional(),
  /** The operator deleted the pod because the run was suspended: its end is no preemption. */
  stoppedForSuspend: z.boolean().optional(),
  /** When the operator first found the pod's node NotReady or gone; cleared when it recovers. */
  nodeLostAt: time.optional(),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;

/** The trainer's summary at exit (docs/trainer-protocol.md); unknown fields are kept. */
export const trainerSummarySchema = z.looseObject({
  reason: z.enum(["completed", "preempted", "failed"]),
  step: z.int().optional(),
  totalSteps: z.int().optional(),
  epoch: z.number().optional(),
  loss: z.number().optional(),
  checkpoint: z
    .looseObject({
      step: z.int().optional(),
      path: z.string().optional(),
      bytes: z.int().optional(),
      saveSeconds: z.number().optional(),
    })
    .optional(),
  resumedFromStep: z.int().optional(),
  attempt: z.int().optional(),
  backend: z.string().optional(),
  weightsSha256: z.string().optional(),
});
export type TrainerSummary = z.infer<typeof trainerSummarySchema>;

export const trainingRunStatusSchema = z.object({
  phase: z.enum(PHASES).optional(),
  conditions: z.array(conditionSchema).optional(),
  observedGeneration: z.int().optional(),
  /** The newest attempt's number; 0 or unset before the first pod. */
  attempt: z.int().optional(),
  preemptions: z.int().optional(),
  failures: z.int().optional(),
  progress: progressSchema.optional(),
  lastCheckpoint: checkpointInfoSchema.optional(),
  /** Over all attempts: the highest step an attempt reached minus the step the next resumed from. */
  lostSteps: z.int().optional(),
  /** The newest attempts, oldest first. */
  attempts: z.array(attemptRecordSchema).optional(),
  result: trainerSummarySchema.optional(),
  startTime: time.optional(),
  completionTime: time.optional(),
  /** Backoff after a failure: no new attempt before this time (kept here to survive restarts). */
  nextAttemptAt: time.optional(),
});
export type TrainingRunStatus = z.infer<typeof trainingRunStatusSchema>;
