// Which cluster the demo uses: KUBECONFIG's when set, otherwise the local
// one in .cluster/ — reused when up with spot nodes to spare, started (its
// binaries built, cached) when not.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startCluster, stopCluster } from "../../test/cluster/cluster.js";

export interface DemoCluster {
  kubeconfig: string;
  /** True for the embedded local cluster, where the demo can reclaim a spot node itself. */
  local: boolean;
  startedHere: boolean;
}

export async function demoCluster(repo: string, kubectl: string): Promise<DemoCluster> {
  if (process.env.KUBECONFIG) return { kubeconfig: process.env.KUBECONFIG, local: false, startedHere: false };
  const stateDir = join(repo, ".cluster");
  const kubeconfig = join(stateDir, "kubeconfig");
  if (existsSync(join(stateDir, "state.json"))) {
    const why = unusable(kubectl, kubeconfig);
    if (!why) return { kubeconfig, local: true, startedHere: false };
    console.log(`The local cluster in ${stateDir} ${why}: replacing it with a fresh one …`);
    await stopCluster(stateDir);
  }
  console.log("Starting the local cluster (real etcd, kube-apiserver, controller-manager, scheduler; 3 process-kubelet nodes);\n" +
    "  its binaries are compiled once from the pinned Go modules into ~/.cache/resumable (cold: minutes, progress below; cached: instant) …");
  const cluster = await startCluster({ stateDir });
  copyFileSync(cluster.kubeconfig, kubeconfig);
  return { kubeconfig, local: true, startedHere: true };
}

/**
 * Why an existing local cluster cannot host the demo, or undefined if it can: it must
 * answer, and keep two Ready spot nodes (the run's and the one it resumes on) — each demo
 * reclaims one, and a reclaimed node, like a reclaimed VM, does not come back.
 */
function unusable(kubectl: string, kubeconfig: string): string | undefined {
  try {
    const out = execFileSync(kubectl, [
      "--kubeconfig", kubeconfig, "get", "nodes", "-l", "cloud.google.com/gke-spot=true",
      "-o", "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
    ], { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString();
    const ready = out.split("\n").filter((s) => s === "True").length;
    return ready >= 2 ? undefined : `has ${ready} Ready spot node${ready === 1 ? "" : "s"} left (earlier demos reclaimed the others)`;
  } catch {
    return "does not answer";
  }
}
