// `node --import tsx test/e2e/shared-cluster.ts <command…>`: one local cluster for every
// end-to-end file that needs nothing but a namespace of its own, as envtest-based suites share
// one apiserver. It starts the cluster, runs the command (the integration phase's test runner)
// with RESUMABLE_E2E_SHARED_CLUSTER naming the cluster's state dir, stops the cluster, and exits
// with the command's code. A file opts in with `useE2E({ sharedCluster: true })` and then runs
// in the namespace named after it; run alone (no shared cluster named), it starts its own.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../cluster/cluster.js";
import { crdEstablished, kubectl, SHARED_CLUSTER_ENV } from "../support/cluster.js";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: shared-cluster.ts <command> [args…]: runs the command beside one shared local cluster");
  process.exit(2);
}
const repo = new URL("../..", import.meta.url).pathname;
const started = Date.now();
const cluster = await startCluster({ stateDir: mkdtempSync(join(tmpdir(), "resumable-e2e-shared-")) });
let code = 1;
try {
  // The CRD once, before any file's operator starts: each file applies it again, which is a no-op.
  await kubectl(cluster.kubeconfig, ["apply", "-f", join(repo, "crds")]);
  await crdEstablished(cluster.kubeconfig, "trainingruns.resumable.dev");
  console.error(`shared cluster for the end-to-end files up in ${((Date.now() - started) / 1000).toFixed(1)} s (${cluster.stateDir})`);
  const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, [SHARED_CLUSTER_ENV]: cluster.stateDir } });
  // make's ^C reaches the runner through the process group; a plain SIGTERM to us is passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGTERM", forward);
  process.on("SIGINT", () => undefined);
  code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1))));
} finally {
  await cluster.stop();
}
process.exit(code);
