#!/usr/bin/env node
/**
 * resumable-trainer --config FILE [--resume-from DIR]
 * Exit codes: 0 completed, 143 preempted, 2 invalid config, 3 fenced, 1 failed.
 */
import { installStopHandlers } from "./signals/stop.js";

// First, before tfjs loads (seconds): a SIGTERM during start-up must still end in exit 143.
const stop = installStopHandlers();
const { main } = await import("./main.js");
process.exit(await main(process.argv.slice(2), process.env, stop));
