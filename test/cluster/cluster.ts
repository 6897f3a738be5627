// A whole local cluster: the control plane plus the process kubelet playing
// the nodes. Its state directory holds everything it made (data, keys, logs,
// volumes) and a state.json naming every process, so another process can
// stop it by pid and nothing is left behind.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { ensureBinaries } from "./binaries.js";
import { startControlPlane } from "./controlplane.js";
import { isAlive, startDetached, stopProcess, type Started } from "./processes.js";

export interface ClusterOptions {
  stateDir: string;
  /** Node set for the process kubelet; default test/cluster/nodes.json. */
  nodesFile?: string;
  /** Start the process kubelet (default true). */
  withKubelet?: boolean;
}

export interface Cluster {
  stateDir: string;
  kubeconfig: string;
  server: string;
  processes: Started[];
  /**
   * Chaos: SIGKILLs one of the cluster's processes by name (etcd, kube-apiserver, kubelet, …)
   * as a crash would, and after `downMs` starts it again with the same command line.
   */
  crashAndRestart(name: string, downMs: number): Promise<void>;
  /** Records a process started beside the cluster (an add-on controller): stopping the cluster stops it first. */
  adopt(p: Started): void;
  stop(): Promise<void>;
}

const here = fileURLToPath(new URL(".", import.meta.url));
export const DEFAULT_NODES_FILE = join(here, "nodes.json");
const stateFile = (dir: string) => join(dir, "state.json");

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const { stateDir } = opts;
  if (existsSync(stateFile(stateDir))) {
    throw new Error(`a cluster already uses ${stateDir}; stop it first (make cluster-down)`);
  }
  mkdirSync(stateDir, { recursive: true });
  const bin = ensureBinaries();
  const processes: Started[] = [];
  const save = (kubeconfig: string, server: string) =>
    writeFileSync(stateFile(stateDir), JSON.stringify({ kubeconfig, server, processes }, null, 2) + "\n");
  try {
    const cp = await startControlPlane(bin, stateDir).catch((err) => {
      processes.push(...((err as { processes?: Started[] }).processes ?? []));
      throw err;
    });
    processes.push(...cp.processes);
    save(cp.adminKubeconfig, cp.server);
    if (opts.withKubelet ?? true) {
      const nodesFile = opts.nodesFile ?? DEFAULT_NODES_FILE;
      const kubelet = startDetached("kubelet", process.execPath, [
        "--import", "tsx", join(here, "kubelet", "main.ts"),
        "--kubeconfig", cp.adminKubeconfig, "--nodes", nodesFile, "--state-dir", join(stateDir, "kubelet"),
      ], join(stateDir, "logs", "kubelet.log"));
      processes.push(kubelet);
      save(cp.adminKubeconfig, cp.server);
      const expected = (JSON.parse(readFileSync(nodesFile, "utf8")) as { name: string }[]).map((n) => n.name);
      await waitNodesReady(cp.adminKubeconfig, expected, kubelet);
    }
    const crashAndRestart = async (name: string, downMs: number) => {
      const i = processes.findIndex((p) => p.name === name);
      const old = processes[i];
      if (!old) throw new Error(`the cluster has no process named ${name}`);
      await stopProcess(old.pid, 0);
      await sleep(downMs);
      processes[i] = startDetached(old.name, old.command, old.args, old.log);
      save(cp.adminKubeconfig, cp.server);
    };
    const adopt = (p: Started) => {
      processes.push(p);
      save(cp.adminKubeconfig, cp.server);
    };
    return { stateDir, kubeconfig: cp.adminKubeconfig, server: cp.server, processes, crashAndRestart, adopt, stop: () => stopCluster(stateDir) };
  } catch (err) {
    await stopCluster(stateDir);
    throw err;
  }
}

/**
 * `adopt` for a cluster another process started (`make cluster-up KUEUE=1` starts Kueue after
 * cluster-up has returned): its kubeconfig, and a way to record one more process in its state.
 */
export function runningCluster(stateDir: string): Pick<Cluster, "stateDir" | "kubeconfig" | "adopt"> {
  if (!existsSync(stateFile(stateDir))) throw new Error(`no cluster runs in ${stateDir}; start one first (make cluster-up)`);
  const read = () => JSON.parse(readFileSync(stateFile(stateDir), "utf8")) as { kubeconfig: string; processes: Started[] };
  const adopt = (p: Started) => {
    const state = read();
    state.processes.push(p);
    writeFileSync(stateFile(stateDir), JSON.stringify(state, null, 2) + "\n");
  };
  return { stateDir, kubeconfig: read().kubeconfig, adopt };
}

/** Stops every process a cluster in `stateDir` started, then removes the directory. */
export async function stopCluster(stateDir: string): Promise<void> {
  if (existsSync(stateFile(stateDir))) {
    const state = JSON.parse(readFileSync(stateFile(stateDir), "utf8")) as { processes: Started[] };
    // Kubelet first, so it stops its containers while the apiserver is still up.
    for (const p of [...state.processes].reverse()) await stopProcess(p.pid);
  }
  // Containers the kubelet could not stop (it was SIGKILLed, or a node was
  // partitioned): their pids are recorded one file each.
  const pidsDir = join(stateDir, "kubelet", "pids");
  if (existsSync(pidsDir)) {
    await Promise.all(readdirSync(pidsDir).map((pid) => stopProcess(Number(pid), 2_000)));
  }
  unmountBelow(stateDir);
  // RESUMABLE_KEEP_STATE=1 keeps logs, pod logs and etcd for a post-mortem of a failed test.
  if (process.env.RESUMABLE_KEEP_STATE === "1") console.error(`state kept in ${stateDir}`);
  else rmSync(stateDir, { recursive: true, force: true });
}

/** A bind mount left under the state dir would make rmSync fail or descend into the mounted tree. */
function unmountBelow(dir: string): void {
  if (!existsSync("/proc/self/mountinfo")) return;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync("umount", ["-l", m]);
    } catch {
      // best effort
    }
  }
}

async function waitNodesReady(kubeconfig: string, names: string[], kubelet: Started): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 90_000;
  let notReady = names;
  while (Date.now() < deadline) {
    if (!isAlive(kubelet.pid)) throw new Error(`the process kubelet exited during start-up; see ${kubelet.log}`);
    const nodes = await core.listNode().catch(() => undefined);
    const ready = new Set(
      (nodes?.items ?? [])
        .filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .map((n) => n.metadata?.name),
    );
    notReady = names.filter((n) => !ready.has(n));
    // Pods are refused until the controller-manager has made the namespace's
    // default service account: a cluster is usable only once it exists.
    const sa = await core.readNamespacedServiceAccount({ name: "default", namespace: "default" }).catch(() => undefined);
    if (notReady.length === 0 && sa) return;
    await sleep(250);
  }
  throw new Error(`nodes not Ready after 90 s: ${notReady.join(", ")}; see ${kubelet.log}`);
}
