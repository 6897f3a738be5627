// `make cluster-up`: starts the local cluster in .cluster/ (or $RESUMABLE_CLUSTER_DIR)
// and leaves it running; `make cluster-down` stops it.
import { copyFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startCluster } from "./cluster.js";

const stateDir = resolve(process.env.RESUMABLE_CLUSTER_DIR ?? ".cluster");
const withKubelet = process.env.RESUMABLE_NO_KUBELET !== "1";
try {
  const cluster = await startCluster({ stateDir, withKubelet });
  const kubeconfig = join(stateDir, "kubeconfig");
  copyFileSync(cluster.kubeconfig, kubeconfig);
  console.log(`Local cluster up: ${cluster.server}
  export KUBECONFIG=${kubeconfig}
  kubectl get nodes
Logs: ${join(stateDir, "logs")}/   Stop it: make cluster-down`);
} catch (err) {
  console.error(`cluster-up failed: ${(err as Error).message}`);
  process.exit(1);
}
