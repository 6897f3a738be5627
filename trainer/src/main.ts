import { parseArgs } from "node:util";
import { EXIT_CODES as exitCodes } from "@resumable/protocol";
import { FencedError } from "./checkpoint/fence.js";
import { readEnv, type TrainerEnv } from "./config/env.js";
import { ConfigError } from "./config/errors.js";
import { loadConfig } from "./config/load.js";
import type { TrainingConfig } from "./config/schema.js";
import { createLogger } from "./log.js";
import { serveMetrics, TrainerMetrics } from "./metrics/metrics.js";
import { ProgressReporter } from "./report/progress.js";
import { emitSummary } from "./report/summary.js";
import type { StopRequest } from "./signals/stop.js";
import { initialRunState, runTraining, type RunState } from "./train/run.js";

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
  const state: RunState = initialRunState(env);
  try {
    if (env.metrics.port !== 0) {
      // Metrics are for watching, not for training: a taken port is logged, not fatal.
      await serveMetrics(metrics, env.metrics.host, env.metrics.port, log).catch((err: Error) =>
        log.warn({ reason: err.message }, "metrics server not started"),
      );
    }
    const reason = await runTraining(
      { config, env, resumeFrom: args["resume-from"], log, stop, metrics, progress: new ProgressReporter(env, log) },
      state,
    );
    await emitSummary({ reason, ...state }, env.terminationLog, log);
    return exitCodes[reason];
  } catch (err) {
    const error = err as Error;
    const code = error instanceof ConfigError ? exitCodes.config : error instanceof FencedError ? exitCodes.fenced : exitCodes.failed;
    log.error({ err: error, exitCode: code }, error instanceof FencedError ? "fenced: a newer attempt owns the checkpoint directory" : "training failed");
    await emitSummary({ reason: "failed", ...state, error: `${error.name}: ${error.message}` }, env.terminationLog, log);
    return code;
  }
}
