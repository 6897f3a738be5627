// Which cluster the demo uses: KUBECONFIG's when set, otherwise the local
// one in .cluster/ — reused when already up, started (and its binaries
// built, cached) when not.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startCluster } from "../../test/cluster/cluster.js";

export interface DemoCluster {
  kubeconfig: string;
  /** True for the embedded local cluster, where the demo can reclaim a spot node itself. */
  local: boolean;
  startedHere: boolean;
}

export async function demoCluster(repo: string): Promise<DemoCluster> {
  if (process.env.KUBECONFIG) return { kubeconfig: process.env.KUBECONFIG, local: false, startedHere: false };
  const stateDir = join(repo, ".cluster");
  const kubeconfig = join(stateDir, "kubeconfig");
  if (existsSync(join(stateDir, "state.json")) && reachable(kubeconfig)) {
    return { kubeconfig, local: true, startedHere: false };
  }
  if (existsSync(join(stateDir, "state.json"))) {
    throw new Error(`a local cluster in ${stateDir} is recorded but does not answer: run make cluster-down first`);
  }
  console.log("Starting the local cluster (real etcd, kube-apiserver, controller-manager, scheduler; 3 process-kubelet nodes) …");
  const cluster = await startCluster({ stateDir });
  copyFileSync(cluster.kubeconfig, kubeconfig);
  return { kubeconfig, local: true, startedHere: true };
}

function reachable(kubeconfig: string): boolean {
  try {
    execFileSync("kubectl", ["--kubeconfig", kubeconfig, "get", "--raw", "/readyz"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
