import { pino } from "pino";
import type { CheckpointRequest } from "@resumable/protocol";
import { readEnv } from "../../../trainer/src/config/env.js";
import { parseConfig } from "../../../trainer/src/config/load.js";
import { classifyFailure } from "../../../trainer/src/main.js";
import { TrainerMetrics } from "../../../trainer/src/metrics/metrics.js";
import { ProgressReporter, type Progress } from "../../../trainer/src/report/progress.js";
import { CheckpointRequests } from "../../../trainer/src/signals/checkpoint-request.js";
import { StopRequest } from "../../../trainer/src/signals/stop.js";
import { runTraining } from "../../../trainer/src/train/run.js";
import { FakeGang } from "./fake-gang.js";
import type { LogLine } from "./trainer-process.js";

/** What one rank of an in-process gang left behind: its exit code, summary, log and last progress. */
export interface RankRecord {
  rank: number;
  exitCode: number;
  summary: Record<string, unknown>;
  lines: LogLine[];
  progress: Progress | undefined;
}

/** A rank's levers while it runs: the test's stand-ins for SIGTERM and a reclaim notice. */
export interface RankControls {
  stop: StopRequest;
  requests: CheckpointRequests;
}

export interface GangRunOptions {
  worldSize: number;
  config: Record<string, unknown>;
  /** Rank 0's checkpoint directory (the other ranks get none, as from the operator). */
  dir: string;
  attempt: number;
  /** Every log line of every rank, as it is written (synchronously, inside the step). */
  onLine?: (rank: number, line: LogLine, controls: RankControls[]) => void;
  loseAt?: { rank: number; allReduce: number };
}

/** Records a progress report instead of sending it (no API server in a test). */
class RecordingProgress extends ProgressReporter {
  last: Progress | undefined;
  override update(progress: Progress): void {
    this.last = progress;
    super.update(progress);
  }
}

/**
 * One attempt of a gang: N trainers in this process, joined by a FakeGang, each with its own
 * environment as the operator would set it, its own log, stop request and checkpoint requests.
 * Resolves when every rank has ended.
 */
export async function runGangAttempt(opts: GangRunOptions): Promise<RankRecord[]> {
  const gang = new FakeGang(opts.worldSize, opts.loseAt);
  const config = parseConfig(JSON.stringify(opts.config), "test config");
  const controls: RankControls[] = [];
  const ranks = gang.ranks.map((collective, rank) => {
    const env = readEnv({
      ...(rank === 0 && { RESUMABLE_CHECKPOINT_DIR: opts.dir }),
      RESUMABLE_ATTEMPT: String(opts.attempt),
      RESUMABLE_RANK: String(rank),
      RESUMABLE_WORLD_SIZE: String(opts.worldSize),
      RESUMABLE_CHECKPOINT_REQUEST_FILE: "",
      RESUMABLE_METRICS_PORT: "0",
    });
    const lines: LogLine[] = [];
    const log = pino(
      { level: "trace", base: { rank } },
      {
        write(text: string) {
          const line = JSON.parse(text) as LogLine;
          lines.push(line);
          opts.onLine?.(rank, line, controls);
        },
      },
    );
    const stop = new StopRequest();
    const requests = new CheckpointRequests(undefined, log);
    controls.push({ stop, requests });
    const progress = new RecordingProgress(env, log);
    return { env, log, lines, stop, requests, progress, collective };
  });
  const outcomes = await Promise.all(
    ranks.map((r) =>
      runTraining({ config, env: r.env, resumeFrom: undefined, log: r.log, stop: r.stop, metrics: new TrainerMetrics(), progress: r.progress, requests: r.requests, collective: r.collective }),
    ),
  );
  return outcomes.map((outcome, rank) => {
    const { lines, progress } = ranks[rank]!;
    if (outcome.reason !== "failed") return { rank, exitCode: outcome.reason === "completed" ? 0 : 143, summary: { reason: outcome.reason, ...outcome.state }, lines, progress: progress.last };
    const { failure, exitCode } = classifyFailure(outcome.error);
    return { rank, exitCode, summary: { reason: "failed", ...outcome.state, failure }, lines, progress: progress.last };
  });
}

/** A checkpoint request as the operator's annotation carries one (a reclaim notice). */
export function reclaimNotice(id: string): CheckpointRequest {
  return { id, reason: `aws-spot-itn on the node of ${id}`, at: new Date().toISOString() };
}

/** An onLine that sends `rank` SIGTERM once it has logged step `step`: its next contribution asks the gang to stop. */
export function sigtermAfter(rank: number, step: number): GangRunOptions["onLine"] {
  return (r, line, controls) => {
    if (r === rank && line.msg === "step" && line.step === step) controls[rank]!.stop.request("SIGTERM");
  };
}
