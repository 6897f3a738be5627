import { parseArgs } from "node:util";
import { EXIT_CODES as exitCodes } from "@resumable/protocol";
import { CheckpointsUnusableError, FencedError, StorageError, StorageRefusedError } from "./checkpoint/errors.js";
import { LocationOwnedError } from "./checkpoint/owner.js";
import { readEnv, type TrainerEnv } from "./config/env.js";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./config/load.js";
import type { TrainingConfig } from "./config/schema.js";
import { createLogger, type Logger } from "./log.js";
import { serveMetrics, TrainerMetrics } from "./metrics/metrics.js";
import { ProgressReporter } from "./report/progress.js";
import { emitSummary, type Failure } from "./report/summary.js";
import { CheckpointRequests } from "./signals/checkpoint-request.js";
import type { StopRequest } from "./signals/stop.js";
import { PeerLostError } from "./gang/collective.js";
import { openCollective, readGangEnv } from "./gang/open.js";
import { DivergedError } from "./train/errors.js";
import { runTraining, type RunOutcome } from "./train/run.js";

/** Each failure's kind and exit code, from the error's class: one place decides both. */
export function classifyFailure(error: Error): { failure: Failure; exitCode: number } {
  const message = `${error.name}: ${error.message}`;
  // Before ConfigError, which it extends: another run's location is not a bad training config.
  if (error instanceof LocationOwnedError) return { failure: { kind: "locationOwned", message }, exitCode: exitCodes.config };
  if (error instanceof ConfigError) return { failure: { kind: "config", message }, exitCode: exitCodes.config };
  // Storage failures name the object or location and the store's or the system's code.
  const at = (kind: Failure["kind"], e: StorageError | StorageRefusedError): Failure => ({ kind, message, path: e.path, ...(e.code !== undefined && { code: e.code }) });
  if (error instanceof StorageRefusedError) return { failure: at("storageRefused", error), exitCode: exitCodes.config };
  if (error instanceof FencedError) return { failure: { kind: "fenced", message }, exitCode: exitCodes.fenced };
  if (error instanceof StorageError) return { failure: at("storage", error), exitCode: exitCodes.storage };
  if (error instanceof CheckpointsUnusableError) return { failure: { kind: "checkpointsUnusable", message }, exitCode: exitCodes.checkpointsUnusable };
  if (error instanceof DivergedError) return { failure: { kind: "diverged", message }, exitCode: exitCodes.diverged };
  if (error instanceof PeerLostError) return { failure: { kind: "peerLost", message }, exitCode: exitCodes.peerLost };
  return { failure: { kind: "error", message }, exitCode: exitCodes.failed };
}

const failureLogLines: Partial<Record<Failure["kind"], string>> = {
  fenced: "fenced: a newer attempt owns the checkpoint directory",
  storageRefused: "checkpoint storage refused the trainer: fix the run's storage settings or credentials",
  locationOwned: "the checkpoint location belongs to another run: nothing there was touched",
  storage: "checkpoint storage failed; nothing was quarantined",
  checkpointsUnusable: "checkpoints exist but none loads: refusing to start from step 0",
  diverged: "training diverged",
  peerLost: "a peer of the gang was lost: the gang resumes from its newest committed checkpoint",
};

/** The CLI: parses arguments, environment and config, runs training, writes the summary. Returns the exit code. */
export async function main(argv: string[], processEnv: NodeJS.ProcessEnv, stop: StopRequest): Promise<number> {
  const log = createLogger(processEnv.RESUMABLE_RUN ? { run: processEnv.RESUMABLE_RUN } : {});
  stop.onStop((signal) => log.info({ signal }, "signal received: stopping at the next step boundary"));

  let env: TrainerEnv;
  let args: { config?: string; "resume-from"?: string };
  let config: TrainingConfig;
  try {
    args = parseArgs({ args: argv, options: { config: { type: "string" }, "resume-from": { type: "string" } } }).values;
    env = readEnv(processEnv);
    config = await loadConfig(args.config, env.inlineConfig);
  } catch (err) {
    // Nothing written: not even the termination log, whose path may be what is wrong.
    log.error((err as Error).message);
    return exitCodes.config;
  }

  const metrics = new TrainerMetrics();
  if (env.metrics.port !== 0) {
    // Metrics are for watching, not for training: a taken port is logged, not fatal.
    await serveMetrics(metrics, env.metrics.host, env.metrics.port, log).catch((err: Error) =>
      log.warn({ reason: err.message }, "metrics server not started"),
    );
  }
  let collective;
  try {
    collective = await openCollective(config.gang, readGangEnv(processEnv));
  } catch (err) {
    return settle({ reason: "failed", error: err as Error, state: { attempt: env.attempt ?? null } }, env, log);
  }
  const outcome = await runTraining({ config, env, resumeFrom: args["resume-from"], log, stop, metrics, progress: new ProgressReporter(env, log),
    requests: new CheckpointRequests(env.checkpointRequestFile, log),
    collective,
  });
  await collective.close();
  return settle(outcome, env, log);
}

/** The summary of how the run ended, written out, and the exit code that goes with it. */
export async function settle(outcome: RunOutcome, env: Pick<TrainerEnv, "terminationLog">, log: Logger): Promise<number> {
  if (outcome.reason !== "failed") {
    await emitSummary({ reason: outcome.reason, ...outcome.state }, env.terminationLog, log);
    return exitCodes[outcome.reason];
  }
  const { failure, exitCode } = classifyFailure(outcome.error);
  log.error({ err: outcome.error, exitCode, failure: failure.kind }, failureLogLines[failure.kind] ?? "training failed");
  await emitSummary({ reason: "failed", ...outcome.state, error: failure.message, failure }, env.terminationLog, log);
  return exitCode;
}
