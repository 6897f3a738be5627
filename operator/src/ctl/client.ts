// How the CLI reaches the cluster, and how it words the two errors users
// hit most: no cluster, and a run that does not exist.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { httpStatus, networkFailure, reuseConnections } from "@resumable/kube-runtime";

export class CliError extends Error {}

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
}

export interface ConnectOptions {
  namespace?: string | undefined;
  /** A kubeconfig file instead of the default search (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string | undefined;
  /** A context of the kubeconfig instead of its current one. */
  context?: string | undefined;
}

export function connect(opts: ConnectOptions): Clients {
  const kc = reuseConnections(new KubeConfig());
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const source = opts.kubeconfig ?? "KUBECONFIG, ~/.kube/config or in-cluster";
    throw new CliError(`cannot load a kubeconfig (${source}): ${(err as Error).message}`);
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      throw new CliError(`no context ${JSON.stringify(opts.context)} in the kubeconfig (it has: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError("no cluster configured: set KUBECONFIG or run inside a cluster");
  }
  const ns = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), namespace: ns };
}

/** Turns client-node's errors into one line that names the problem. */
export function explain(err: unknown, c: Clients, what: string): Error {
  if (err instanceof CliError) return err;
  const status = httpStatus(err);
  if (status === 404) return new CliError(`${what} not found`);
  if (status === 401 || status === 403) return new CliError(`not allowed to read ${what}: HTTP ${status}`);
  const network = networkFailure(err);
  if (network) return new CliError(`cannot reach the cluster at ${c.kc.getCurrentCluster()?.server}: ${network}`);
  return new CliError(`${what}: ${(err as Error).message ?? String(err)}`);
}

const runApi = { group: API_GROUP, version: API_VERSION, plural: PLURAL };

export async function getRun(c: Clients, name: string): Promise<TrainingRun> {
  try {
    return (await c.custom.getNamespacedCustomObject({ ...runApi, namespace: c.namespace, name })) as TrainingRun;
  } catch (err) {
    throw explain(err, c, `TrainingRun ${c.namespace}/${name}`);
  }
}

export async function listRuns(c: Clients, allNamespaces: boolean): Promise<TrainingRun[]> {
  try {
    const list = allNamespaces
      ? await c.custom.listClusterCustomObject(runApi)
      : await c.custom.listNamespacedCustomObject({ ...runApi, namespace: c.namespace });
    return (list as { items: TrainingRun[] }).items;
  } catch (err) {
    throw explain(err, c, allNamespaces ? "TrainingRuns" : `TrainingRuns in ${c.namespace}`);
  }
}
