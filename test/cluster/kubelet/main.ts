// The process kubelet as its own process:
//   node --import tsx test/cluster/kubelet/main.ts --kubeconfig FILE --nodes FILE --state-dir DIR [--image-map FILE]
// JSON log lines on stdout. SIGTERM (or SIGINT) stops every container —
// SIGTERM, then SIGKILL after a few seconds — and exits.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ApiClient } from "./api/client.js";
import { loadImageMap, loadNodes } from "./config.js";
import { startKubelet } from "./kubelet.js";
import { createLogger } from "./log.js";

/** Container grace on kubelet exit: short, so cluster-down does not wait on pods' own grace periods. */
const EXIT_GRACE_MS = 3_000;

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    nodes: { type: "string" },
    "state-dir": { type: "string" },
    "image-map": { type: "string" },
  },
});
const log = createLogger();
if (!values.kubeconfig || !values.nodes || !values["state-dir"]) {
  console.error("usage: main.ts --kubeconfig FILE --nodes FILE --state-dir DIR [--image-map FILE]");
  process.exit(2);
}
const stateDir = resolve(values["state-dir"]);
mkdirSync(stateDir, { recursive: true });

try {
  const kubelet = await startKubelet({
    api: await ApiClient.fromKubeconfig(values.kubeconfig),
    nodes: loadNodes(values.nodes),
    imageMap: loadImageMap(values["image-map"]),
    stateDir,
    log,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping containers and exiting");
    void kubelet.stop(EXIT_GRACE_MS).finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (err) {
  log.fatal({ err: String(err) }, "kubelet failed to start");
  process.exit(1);
}
