import { parentPort } from "node:worker_threads";

// A save thread that dies at its first request, as one would on a native crash or an
// out-of-memory kill: exit code 70 (a worker's process.exit ends the thread only).
parentPort!.once("message", () => process.exit(70));
