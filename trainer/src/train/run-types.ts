import type { CheckpointRequest, EarlyCheckpoint } from "@resumable/protocol";
import type { Fence } from "../checkpoint/fence.js";
import type { CheckpointStore, CommittedCheckpoint } from "../checkpoint/store.js";
import type { CheckpointWriter } from "../checkpoint/writer.js";
import type { TrainerEnv } from "../config/env.js";
import type { TrainingConfig } from "../config/schema.js";
import type { Collective } from "../gang/collective.js";
import type { Logger } from "../log.js";
import type { TrainerMetrics } from "../metrics/metrics.js";
import type { ProgressReporter } from "../report/progress.js";
import type { Summary } from "../report/summary.js";
import type { CheckpointRequests } from "../signals/checkpoint-request.js";
import type { StopRequest } from "../signals/stop.js";
import type { TrainingSession } from "./session.js";
import type { SaveCostMeter, SaveInterval } from "./save-interval.js";

// The shapes one trainer process's run is made of, shared by the single pod's path (run.ts)
// and a gang's (gang-run.ts).

export interface RunOptions {
  config: TrainingConfig;
  env: TrainerEnv;
  resumeFrom: string | undefined;
  log: Logger;
  stop: StopRequest;
  metrics: TrainerMetrics;
  progress: ProgressReporter;
  /** Checkpoint requests from the operator (reclaim notices); absent: none are watched. */
  requests?: CheckpointRequests;
  /** This pod's gang (gang/open.ts); absent or of world size 1: one pod, trained as always. */
  collective?: Collective;
}

/** What the summary reports, filled in as the run goes. */
export type RunState = Omit<Summary, "reason" | "error" | "failure">;

/** How the run ended, with what is known so far: the CLI turns it into the summary and exit code. */
export type RunOutcome = { reason: "completed" | "preempted"; state: RunState } | { reason: "failed"; error: Error; state: RunState };

/**
 * One trainer process's run: everything the steps (resume, train, save, finish) share.
 * Created once, by `resume`; `state` is what the summary reports.
 */
export interface Run {
  readonly opts: RunOptions;
  readonly state: RunState;
  readonly totalSteps: number;
  /** Where checkpoints go: a single pod's and a gang's rank 0 only. */
  readonly storage: Storage | undefined;
  /** The gang, when there is one (world size > 1). */
  readonly gang: Collective | undefined;
  readonly training: TrainingSession;
  lastCommitted: CommittedCheckpoint | undefined;
  /** The requested save in flight, until it commits (or fails: the request is asked again). */
  requestedSave: { request: CheckpointRequest; step: number } | undefined;
  /** The newest requested save that committed: reported in progress. */
  earlyCheckpoint: EarlyCheckpoint | undefined;
  /** What saves cost here: the adaptive interval and the flush estimate read it. */
  readonly costs: SaveCostMeter;
  /** The interval `everySteps: "auto"` chose; undefined for a fixed one, or before the first save. */
  interval: SaveInterval | undefined;
}

/** Only rank 0 of a gang (and a single pod) touches checkpoint storage. */
export interface Storage {
  readonly store: CheckpointStore;
  readonly fence: Fence | undefined;
  readonly writer: CheckpointWriter;
}
