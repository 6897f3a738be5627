import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../../log.js";
import { openCheckpointStore } from "../open.js";
import type { SaveReply, SaveRequest, SaveThreadInit } from "./thread.js";
import { toWire } from "./wire.js";

// The save thread (thread.ts): the run's own checkpoint store, opened here as on the training
// thread, and CheckpointStore.save run for each request as it runs there, so every save keeps
// the one commit protocol (files, fsyncs, fence checks, manifest, commit log, retention).

const init = workerData as SaveThreadInit;
const port = parentPort!;
const log = createLogger(init.logBindings);
log.level = init.logLevel;
// Opened once; a location that cannot be opened fails every save with its own error.
const opened = openCheckpointStore(init.env, init.keep, log);
// Ready either way: each save awaits the store and replies with its error.
const ready = () => port.postMessage({ ready: true } satisfies SaveReply);
void opened.then(ready, ready);

port.on("message", (req: SaveRequest) => {
  void opened
    .then(({ store }) => store.save(req.snapshot, req.attempt))
    .then(
      (committed): SaveReply => ({ id: req.id, committed }),
      (err: unknown): SaveReply => ({ id: req.id, error: toWire(err) }),
    )
    .then((reply) => port.postMessage(reply));
});
