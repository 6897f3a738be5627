// End-to-end harness: a local cluster (a file's own, or the one the suite shares, see
// shared-cluster.ts), the CRD and trainer RBAC installed, and the operator running as a
// local process against it (the chart-installed operator is proven in test/chart/). Tests
// assert on the world — the run's status, pods, checkpoints on the volume — never on calls.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { runningCluster, startCluster, type Cluster, type ClusterOptions } from "../cluster/cluster.js";
import { writeNamespacedKubeconfig } from "../cluster/kubeconfig.js";
import { crdEstablished, eventually, kubectl, SHARED_CLUSTER_ENV } from "../support/cluster.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
/**
 * Where the file's runs live: `default` on a cluster of its own, its own namespace on the
 * shared one. Set once, when the file calls useE2E (before any test runs); read at use.
 */
export let NAMESPACE = "default";

export interface E2E {
  cluster: Cluster;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Starts one more operator process (a replica when leader election is on). */
  startOperator(extraArgs?: string[]): Promise<ChildProcess>;
  /** Stops every operator process this harness started. */
  stopOperators(signal?: NodeJS.Signals): Promise<void>;
  getRun(name: string): Promise<TrainingRun>;
  /** Waits until `check(run)` is true; the error names the last phase and conditions seen. */
  waitRun(name: string, what: string, check: (run: TrainingRun) => boolean, timeoutMs?: number): Promise<TrainingRun>;
  runPods(name: string): Promise<V1Pod[]>;
  operatorLog: string;
  /** Kills the operators and stops the cluster. */
  stop(): Promise<void>;
}

export type E2EOptions = Omit<ClusterOptions, "stateDir"> & {
  startOperator?: boolean;
  /**
   * The file needs nothing of the cluster but a namespace (no node set, no crash, no fault):
   * it joins the suite's shared cluster when one is named, and starts its own otherwise.
   */
  sharedCluster?: boolean;
};

/** The harness for a node:test file: set up before its tests, torn down after them. */
export function useE2E(opts: E2EOptions = {}): E2E {
  const t = {} as E2E;
  // The test file is the process's main module: its name names its namespace.
  if (opts.sharedCluster && process.env[SHARED_CLUSTER_ENV]) NAMESPACE = `e2e-${basename(process.argv[1] ?? "file").split(".")[0]}`;
  before(async () => Object.assign(t, await startE2E(opts)), { timeout: 15 * 60_000 });
  after(async () => t.stop?.());
  return t;
}

/** A cluster with the CRD installed and (by default) one operator running; `stop` ends both. */
export async function startE2E(opts: E2EOptions = {}): Promise<E2E> {
  const t = {} as E2E;
  let operators: ChildProcess[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), "resumable-e2e-"));
  const shared = opts.sharedCluster ? process.env[SHARED_CLUSTER_ENV] : undefined;
  t.cluster = shared ? joinShared(shared, stateDir) : await startCluster({ ...opts, stateDir });
  const kc = new KubeConfig();
  kc.loadFromFile(t.cluster.kubeconfig);
  t.core = kc.makeApiClient(CoreV1Api);
  t.custom = kc.makeApiClient(CustomObjectsApi);
  t.kubectl = (args, input) => kubectl(t.cluster.kubeconfig, args, input);
  t.operatorLog = join(stateDir, "logs", "operator.log");
  mkdirSync(join(stateDir, "logs"), { recursive: true });

  let crashed: string | undefined;
  t.startOperator = async (extraArgs = []) => {
    const log = createWriteStream(t.operatorLog, { flags: "a" });
    const leaderElect = extraArgs.some((a) => a.startsWith("--leader-elect")) ? [] : ["--leader-elect=false"];
    const operator = spawn(process.execPath, [join(repo, "operator/dist/cli.js"), ...operatorArgs(), ...leaderElect, ...extraArgs], {
      env: { ...process.env, KUBECONFIG: t.cluster.kubeconfig },
      stdio: ["ignore", "pipe", "pipe"],
    });
    operator.stdout?.pipe(log);
    operator.stderr?.pipe(log);
    // An operator that exits on its own with an error (it could not start, say) is remembered:
    // a wait on a run fails at once with its log, rather than after its whole timeout.
    operator.on("exit", (code) => {
      if (code !== null && code !== 0) crashed = `the operator exited with code ${code}`;
    });
    operators.push(operator);
    return operator;
  };
  t.stopOperators = async (signal = "SIGTERM") => {
    const running = operators.filter((p) => p.exitCode === null && p.signalCode === null);
    operators = [];
    await Promise.all(running.map((p) => {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill(signal);
      return exited;
    }));
  };
  t.stop = async () => {
    await t.stopOperators("SIGKILL");
    await t.cluster.stop();
  };

  t.getRun = async (name) =>
    (await t.custom.getNamespacedCustomObject({
      group: "resumable.dev", version: "v1alpha1", namespace: NAMESPACE, plural: "trainingruns", name,
    })) as TrainingRun;

  t.waitRun = async (name, what, check, timeoutMs = 5 * 60_000) => {
    let last: TrainingRun | undefined;
    // Why the wait cannot end well, found on the way: fail now, not after the whole timeout.
    let hopeless: string | undefined;
    try {
      return await eventually(`${name}: ${what}`, async () => {
        if (crashed) hopeless = crashed;
        else {
          last = await t.getRun(name);
          if (check(last)) return last;
          const phase = last.status?.phase;
          if (phase === "Succeeded" || phase === "Failed") hopeless = `${name} ended ${phase} before ${what}`;
        }
        return hopeless ? null : undefined;
      }, timeoutMs).then((run) => {
        if (hopeless || run === null) throw new Error(hopeless);
        return run;
      });
    } catch (err) {
      const s = last?.status;
      throw new Error(`${(err as Error).message}; last status: phase=${s?.phase} ` +
        `conditions=${JSON.stringify(s?.conditions ?? [])}\n${await clusterSide(name)}` +
        `operator log tail:\n${tail(t.operatorLog)}`);
    }
  };

  // What a stuck run's pods and claims looked like, and what the kubelet (which also plays the
  // volume provisioner) last logged: a CI failure shows only what the test prints.
  const clusterSide = async (name: string): Promise<string> => {
    try {
      const pods = (await t.runPods(name)).map((p) =>
        `${p.metadata?.name} ${p.status?.phase} node=${p.spec?.nodeName ?? "-"} ${JSON.stringify(p.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.message ?? ""}`) ?? [])}`);
      const claims = (await t.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items.map((c) =>
        `${c.metadata?.name} ${c.status?.phase} volume=${c.spec?.volumeName ?? "-"} created=${c.metadata?.creationTimestamp?.toISOString()}`);
      return `pods: ${pods.join("; ") || "none"}\nclaims: ${claims.join("; ") || "none"}\n` +
        `kubelet log, its provisioner's lines and errors:\n` +
        `${tail(join(t.cluster.stateDir, "logs", "kubelet.log"), 15, (l) => l.includes("provisioner") || l.includes('"level":50'))}\n`;
    } catch (err) {
      return `(could not read the cluster's side: ${String(err)})\n`;
    }
  };

  t.runPods = async (name) =>
    (await t.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `resumable.dev/run=${name}` })).items;

  try {
    if (shared) await t.kubectl(["create", "namespace", NAMESPACE]);
    await t.kubectl(["apply", "-f", join(repo, "crds")]);
    await crdEstablished(t.cluster.kubeconfig, "trainingruns.resumable.dev");
    await t.kubectl(["apply", "-n", NAMESPACE, "-f", join(repo, "test/e2e/trainer-rbac.yaml")]);
    if (opts.startOperator ?? true) await t.startOperator();
  } catch (err) {
    await t.stop();
    throw err;
  }
  return t;
}

/**
 * The shared cluster, seen from one file: a kubeconfig whose context defaults to the file's
 * namespace (kubectl and the CLI act there unasked), logs of its own in `ownDir`, and a stop
 * that leaves the cluster to the others: it deletes the namespace (its pods' processes go with
 * it) and removes `ownDir`. Crashing the shared cluster's processes is not the file's to do.
 */
function joinShared(sharedStateDir: string, ownDir: string): Cluster {
  const cluster = runningCluster(sharedStateDir);
  const kubeconfig = join(ownDir, "kubeconfig");
  writeNamespacedKubeconfig(cluster.kubeconfig, kubeconfig, NAMESPACE);
  return {
    ...cluster,
    kubeconfig,
    server: "",
    processes: [],
    crashAndRestart: () => Promise.reject(new Error("a file on the shared cluster cannot crash its processes: give it a cluster of its own")),
    stop: async () => {
      await kubectl(kubeconfig, ["delete", "namespace", NAMESPACE, "--wait=false"]).catch(() => undefined);
      if (process.env.RESUMABLE_KEEP_STATE === "1") console.error(`operator log kept in ${ownDir}`);
      else rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** Flags for a test operator: metrics on a free port, trainers under the e2e service account. */
function operatorArgs(): string[] {
  return [
    "--metrics-address=127.0.0.1", "--metrics-port=0", `--namespaces=${NAMESPACE}`, "--trainer-service-account=resumable-trainer",
    SCENARIO_PROGRESS_WRITES,
  ];
}

/**
 * The scenarios act at a step the run's status shows (pastStep) on runs that train for tens
 * of seconds: at the default 15 s between progress writes a run could end before its fault.
 * Their trainers report every second; coalescing itself is proven by
 * test/operator/reconcile-progress-writes.test.ts and the scale smoke.
 */
export const SCENARIO_PROGRESS_WRITES = "--progress-write-interval-seconds=1";

function tail(path: string, lines = 30, keep: (line: string) => boolean = () => true): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").filter(keep).slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
