#!/usr/bin/env node
/**
 * resumable-trainer --config FILE [--resume-from DIR]
 * Exit codes: 0 completed, 143 preempted, 2 invalid config, 3 fenced, 1 failed.
 */
import { installStopHandlers } from "./signals/stop.js";

// First, before tfjs loads (seconds): a SIGTERM during start-up must still end in exit 143.
const stop = installStopHandlers();
const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  // Before main.js: --help must not wait for TensorFlow.js to load.
  const { USAGE } = await import("./usage.js");
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const { main } = await import("./main.js");
process.exit(await main(argv, process.env, stop));
