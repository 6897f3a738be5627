// How the CLI reaches the cluster, and how it words the two errors users
// hit most: no cluster, and a run that does not exist.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { httpStatus, networkFailure } from "../runtime/api-errors.js";

export class CliError extends Error {}

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
}

export function connect(namespace: string | undefined): Clients {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load a kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster): ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError("no cluster configured: set KUBECONFIG or run inside a cluster");
  }
  const ns = namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
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
