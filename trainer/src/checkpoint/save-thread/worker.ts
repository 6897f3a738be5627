import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../../log.js";
import { openCheckpointStore } from "../open.js";
import type { SaveReply, SaveRequest, SaveThreadInit } from "./thread.js";
import { toWire } from "./wire.js";

// The save thread (thread.ts): the run's own checkpoint store, opened here as on the training
// thread, and CheckpointStore.save run for each request as it runs there, so every save keeps
// the one commit protocol (files, fsyncs, fence checks, manifest, commit log, retention).

const init = workerData as SaveThreadInit;
const log = createLogger(init.logBindings);
log.level = init.logLevel;
// Opened once; a location that cannot be opened fails every save with its own error.
const opened = openCheckpointStore(init.env, init.keep, log);
opened.catch(() => {}); // each save awaits it and replies with its error

const port = parentPort!;
port.on("message", (req: SaveRequest) => {
  void opened
    .then(({ store }) => store.save(req.snapshot, req.attempt))
    .then(
      (committed): SaveReply => ({ id: req.id, committed }),
      (err: unknown): SaveReply => ({ id: req.id, error: toWire(err) }),
    )
    .then((reply) => port.postMessage(reply));
});
