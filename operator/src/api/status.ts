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
  path: z.string().optional().describe("Where the trainer saved it: its directory, or its object URL (s3://bucket/prefix/ckpt-...)."),
});
export type CheckpointInfo = z.infer<typeof checkpointInfoSchema>;

const progressSchema = z.object({
  step: z.int(),
  totalSteps: z.int().optional(),
  epoch: z.number().optional(),
  loss: z.number().optional(),
  updatedAt: time.optional(),
  // The operator's own clock, unlike updatedAt (the trainer's): in status, so the interval
  // between progress writes survives an operator restart and reconcile stays pure.
  recordedAt: time
    .optional()
    .describe("When the operator wrote this progress: while only progress changes, it is written at most once per --progress-write-interval-seconds."),
});
export type Progress = z.infer<typeof progressSchema>;

/**
 * How an attempt ended: the budget it counts against follows from it. Blocked: its pod could
 * not start for a Secret or ConfigMap that does not exist; GangUnschedulable: not every rank
 * of a gang was running within scheduling.gangTimeoutSeconds. Neither is charged to a budget;
 * both are retried with backoff.
 */
const END_REASONS = ["Succeeded", "Preempted", "Failed", "Suspended", "Moved", "Blocked", "GangUnschedulable"] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Where an attempt ran: spot or on-demand nodes (spec.scheduling.fallback moves between them). */
export const CAPACITY_TYPES = ["spot", "on-demand"] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

/**
 * Why the run is on the capacity it is on: the policy's reasons for a move, or where it
 * started (Spec: spot: true or false).
 */
export const CAPACITY_REASONS = ["Spec", "AfterPreemptions", "PendingOnSpot", "ReturnToSpot"] as const;
export type CapacityReason = (typeof CAPACITY_REASONS)[number];

/** One pod of a gang's attempt (spec.workers > 1). */
const rankRecordSchema = z.object({
  rank: z.int(),
  pod: z.string(),
  uid: z.string().optional().describe("Set once the operator has seen the pod: a recorded rank whose pod disappears was deleted."),
  node: z.string().optional(),
});
export type RankRecord = z.infer<typeof rankRecordSchema>;

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
  stoppedForMove: z.boolean().optional().describe("The operator deleted the pod to move the run back to spot at a checkpoint (a planned move)."),
  nodeLostAt: time.optional().describe("Since when the pod's node is NotReady or gone; cleared when it recovers."),
  noticeAt: time.optional().describe("When a reclaim notice was first seen on this attempt's node (docs/reclaim-notices.md)."),
  noticeSource: z.string().optional().describe("Which notice signal, e.g. aws-spot-itn, cordon."),
  earlyCheckpointStep: z.int().optional().describe("The step the trainer saved on the checkpoint request the notice caused."),
  noticeLeadSeconds: z.number().optional().describe("From the notice to the attempt's end: the time the notice bought."),
  capacityType: z.enum(CAPACITY_TYPES).optional().describe("Whether the attempt's pod asked for spot or on-demand nodes."),
  capacityReason: z.enum(CAPACITY_REASONS).optional().describe("Why the attempt was placed on that capacity (the move that put it there)."),
  instanceType: z.string().optional().describe("The node's node.kubernetes.io/instance-type label: the row of the price table."),
  gpus: z.number().optional().describe("GPUs the attempt's pod requested (accelerator limits); accounting counts at least 1."),
  ranks: z
    .array(rankRecordSchema)
    .optional()
    .describe("A gang's pods by rank (spec.workers > 1; pod, uid and node above are rank 0's); unset for a single pod."),
  createdAt: time.optional().describe("When the operator created a gang's pods: scheduling.gangTimeoutSeconds counts from here (from admittedAt in a Kueue queue)."),
  disruptedRank: z.int().optional().describe("The rank whose disruption ended a gang's attempt (its node in ranks)."),
  admittedAt: time
    .optional()
    .describe("In a Kueue queue: when every pod of the attempt was first seen admitted (no scheduling gate); a gang's bound counts from here."),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;

/**
 * status.result: the trainer's summary at completion, as @resumable/protocol's
 * summaryRecordSchema keeps it (exitSummarySchema's fields with their nulls left out, see
 * summaryForStatus); unknown fields are kept.
 */
export const trainerSummarySchema = summaryRecordSchema;
export type TrainerSummary = z.infer<typeof trainerSummarySchema>;

/** The capacity policy's state: where attempts go now, since when and why. */
const capacityStatusSchema = z.object({
  type: z.enum(CAPACITY_TYPES),
  reason: z.enum(CAPACITY_REASONS),
  since: time.optional().describe("When the run moved to this capacity type (the clock of returnToSpotAfterSeconds)."),
  message: z.string().optional(),
  moves: z.int().optional().describe("Moves between spot and on-demand so far; planned moves are not preemptions."),
  returnRequestedAt: time.optional().describe("When returnToSpotAfterSeconds ran out: the pod stops at the first checkpoint newer than this."),
  spotPreemptions: z.int().optional().describe("Preemptions since the run last came to spot: compared with fallback.afterPreemptions."),
});
export type CapacityStatus = z.infer<typeof capacityStatusSchema>;

/**
 * Capacity and cost of the run's ended attempts (a running attempt is added by the metrics
 * and the CLI at read time, so the status is written only when an attempt ends).
 */
export const accountingSchema = z.object({
  spotGpuSeconds: z.number(),
  onDemandGpuSeconds: z.number(),
  lostGpuSeconds: z.number().describe("Recomputed steps at the measured step time, plus restart gaps after preemptions and moves, times GPUs."),
  spotSeconds: z.number().optional().describe("Attempt time on spot: the denominator of preemptionsPerSpotHour."),
  onDemandSeconds: z.number().optional().describe("Attempt time on on-demand."),
  spotPreemptions: z.int().optional().describe("Attempts on spot ended by a preemption."),
  preemptionsPerSpotHour: z.number().optional(),
  spotCost: z.number().optional().describe("From the operator's price table; cost fields are unset when it has no price for an attempt."),
  onDemandCost: z.number().optional(),
  estimatedCost: z.number().optional().describe("spotCost + onDemandCost."),
  allOnDemandCost: z.number().optional().describe("The same useful training all on on-demand, where no step is lost."),
  saving: z.number().optional().describe("allOnDemandCost - estimatedCost; negative when spot lost more than it saved."),
  currency: z.string().optional(),
});
export type Accounting = z.infer<typeof accountingSchema>;

/** What preempting the run would cost now (runs in a Kueue queue): for a victim-choosing policy. */
const preemptionCostSchema = z.object({
  checkpointStep: z.int().optional().describe("The step of the newest committed checkpoint."),
  checkpointTime: time.optional().describe("When it was committed."),
  stepsAtRisk: z.int().describe("Steps since that checkpoint: what a stop without a final flush loses (a graceful preemption flushes and loses none)."),
  secondsAtRisk: z.number().optional().describe("The training time those steps took, from the checkpoint to the newest report."),
  reportedAt: time.optional().describe("The trainer's report these figures are from."),
});

export const trainingRunStatusSchema = z.object({
  phase: z.enum(PHASES).optional(),
  conditions: z.array(conditionSchema).optional(),
  observedGeneration: z.int().optional(),
  attempt: z.int().optional().describe("The newest attempt's number; 0 before the first pod."),
  preemptions: z.int().optional(),
  quotaPreemptions: z
    .int()
    .optional()
    .describe("Of the preemptions, those by Kueue for another workload's quota (QuotaPreempted): never checked against preemption.maxPreemptions."),
  failures: z.int().optional(),
  progress: progressSchema.optional(),
  lastCheckpoint: checkpointInfoSchema.optional(),
  checkpointStorage: z
    .string()
    .optional()
    .describe("Where the run's checkpoints are: s3://bucket/prefix, or pvc/<claim>; set when an attempt starts."),
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
  capacity: capacityStatusSchema.optional(),
  preemptionCost: preemptionCostSchema
    .optional()
    .describe("Runs in a Kueue queue, while Running: what a preemption would lose now; written with progress, also on the pod as resumable.dev/preemption-cost."),
  accounting: accountingSchema.optional(),
});
export type TrainingRunStatus = z.infer<typeof trainingRunStatusSchema>;
