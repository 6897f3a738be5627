import { z } from "zod";
import { summaryRecordSchema } from "@resumable/protocol";

/** RFC 3339 timestamps, as the apiserver stores them. */
const time = z.string();

export const PHASES = ["Pending", "Running", "Restarting", "Suspended", "Succeeded", "Failed"] as const;
export type Phase = (typeof PHASES)[number];

/** metav1.Condition. */
const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: time,
  observedGeneration: z.int().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

const CHECKPOINT_REASONS = ["periodic", "preemption", "final"] as const;

export const checkpointInfoSchema = z.object({
  step: z.int(),
  time: time.optional(),
  bytes: z.int().optional(),
  reason: z.enum(CHECKPOINT_REASONS).optional(),
});
export type CheckpointInfo = z.infer<typeof checkpointInfoSchema>;

const progressSchema = z.object({
  step: z.int(),
  totalSteps: z.int().optional(),
  epoch: z.number().optional(),
  loss: z.number().optional(),
  updatedAt: time.optional(),
});
export type Progress = z.infer<typeof progressSchema>;

/** How an attempt ended: the budget it counts against follows from it. */
const END_REASONS = ["Succeeded", "Preempted", "Failed", "Suspended"] as const;
export type EndReason = (typeof END_REASONS)[number];

const attemptRecordSchema = z.object({
  attempt: z.int(),
  pod: z.string(),
  uid: z.string().optional().describe("Set once the operator has seen the pod: a recorded pod that disappears was deleted."),
  node: z.string().optional(),
  startTime: time.optional(),
  endTime: time.optional(),
  endReason: z.enum(END_REASONS).optional(),
  endDetail: z.string().optional().describe("The signal behind endReason, e.g. EvictionByEvictionAPI, NodeLost, OOMKilled, ExitCode."),
  exitCode: z.int().optional(),
  resumedFromStep: z.int().optional(),
  reachedStep: z.int().optional().describe("The highest step this attempt is known to have reached."),
  stoppedForSuspend: z.boolean().optional().describe("The operator deleted the pod because the run was suspended."),
  nodeLostAt: time.optional().describe("Since when the pod's node is NotReady or gone; cleared when it recovers."),
  noticeAt: time.optional().describe("When a reclaim notice was first seen on this attempt's node (docs/reclaim-notices.md)."),
  noticeSource: z.string().optional().describe("Which notice signal, e.g. aws-spot-itn, cordon."),
  earlyCheckpointStep: z.int().optional().describe("The step the trainer saved on the checkpoint request the notice caused."),
  noticeLeadSeconds: z.number().optional().describe("From the notice to the attempt's end: the time the notice bought."),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;

/**
 * status.result: the trainer's summary at completion, as @resumable/protocol's
 * summaryRecordSchema keeps it (exitSummarySchema's fields with their nulls left out, see
 * summaryForStatus); unknown fields are kept.
 */
export const trainerSummarySchema = summaryRecordSchema;
export type TrainerSummary = z.infer<typeof trainerSummarySchema>;

export const trainingRunStatusSchema = z.object({
  phase: z.enum(PHASES).optional(),
  conditions: z.array(conditionSchema).optional(),
  observedGeneration: z.int().optional(),
  attempt: z.int().optional().describe("The newest attempt's number; 0 before the first pod."),
  preemptions: z.int().optional(),
  failures: z.int().optional(),
  progress: progressSchema.optional(),
  lastCheckpoint: checkpointInfoSchema.optional(),
  lostSteps: z
    .int()
    .optional()
    .describe("Steps trained twice: over all attempts, the highest step one reached minus the step the next resumed from."),
  attempts: z.array(attemptRecordSchema).optional().describe("The newest attempts, oldest first."),
  result: trainerSummarySchema.optional(),
  startTime: time.optional(),
  completionTime: time.optional(),
  // In status rather than in memory so a restarted operator keeps the backoff.
  nextAttemptAt: time.optional().describe("After a failure: no new attempt before this time."),
});
export type TrainingRunStatus = z.infer<typeof trainingRunStatusSchema>;
