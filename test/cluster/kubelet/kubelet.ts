// The process kubelet: one process playing every node of nodes.json. It
// watches Nodes (for faults), bound Pods (to run them) and, for the
// local-path provisioner, claims and volumes, and routes each change to the
// node or provisioner it concerns.
import { join } from "node:path";
import { isUnchanged, objectKey, Reflector, type Change } from "@resumable/kube-runtime";
import { isNotFound, type ApiClient } from "./api/client.js";
import type { ConfigMap, Node, ObjectMeta, PersistentVolume, PersistentVolumeClaim, Pod, Secret } from "./api/types.js";
import type { ImageMap, NodeConfig } from "./config.js";
import type { ObjectLookups } from "./pod/container/env.js";
import type { Logger } from "./log.js";
import { NodeAgent } from "./node/agent.js";
import { PidFiles } from "./pod/container/pid-files.js";
import { PodIpPool } from "./pod/ip-pool.js";
import { claimPodNetwork } from "./pod/pod-network.js";
import { LocalPathProvisioner } from "./storage/provisioner.js";
import { startLogServer } from "./node/log-server.js";
import { jsonSource } from "./api/list-watch.js";

export interface KubeletOptions {
  api: ApiClient;
  nodes: NodeConfig[];
  imageMap: ImageMap;
  stateDir: string;
  log: Logger;
}

export interface RunningKubelet {
  /** Stops every container (SIGTERM, then SIGKILL after `graceMs`) and every loop. */
  stop(graceMs: number): Promise<void>;
}

function lookupsFor(api: ApiClient): ObjectLookups {
  const get = async <T>(path: string) => {
    try {
      return await api.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    configMap: (ns, name) => get<ConfigMap>(`/api/v1/namespaces/${ns}/configmaps/${name}`),
    secret: (ns, name) => get<Secret>(`/api/v1/namespaces/${ns}/secrets/${name}`),
  };
}

/**
 * A reflector over one collection whose changes go to `handler` as (object, previous):
 * (undefined, last state) for a deletion. A relist's unchanged objects are not handed
 * out again: a kubelet acts on transitions, not on levels.
 */
function reflect<T extends { metadata: ObjectMeta }>(
  api: ApiClient,
  path: string,
  log: Logger,
  handler: (obj: T | undefined, old: T | undefined) => void,
  selectors: { fieldSelector?: string } = {},
): Reflector<T> {
  const reflector = new Reflector<T>(jsonSource<T>(api, path, selectors), {
    watch: api,
    logger: log,
    resyncMs: 0,
  });
  reflector.onEvent((change: Change<T>) => {
    if (isUnchanged(change)) return;
    if (change.type === "Delete") handler(undefined, change.object);
    else handler(change.object, change.old);
  });
  return reflector;
}

export async function startKubelet(opts: KubeletOptions): Promise<RunningKubelet> {
  const { api, log, stateDir } = opts;
  const version = await api.get<{ gitVersion: string }>("/version");
  const agents = new Map<string, NodeAgent>();

  const pods = reflect<Pod>(api, "/api/v1/pods", log, (pod, old) => {
    agents.get((pod ?? old)?.spec.nodeName ?? "")?.podChanged(pod, old);
  }, { fieldSelector: "spec.nodeName!=" });
  const podsOnNode = (node: string) => pods.store.list().filter((p) => p.spec.nodeName === node);
  const logServer = await startLogServer(stateDir, {
    podUid: (namespace, name) => pods.store.get(objectKey({ metadata: { namespace, name } }))?.metadata.uid,
    running: (ns, name, container) => {
      const status = pods.store.get(objectKey({ metadata: { namespace: ns, name } }))?.status;
      const all = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])];
      return all.some((c) => c.name === container && !!c.state.running);
    },
  }, log);
  const apiserverPort = Number(api.server.port || 443);
  // Shared by all nodes: pod IPs are unique across the cluster, and cluster-down finds every pid in one place.
  const pids = new PidFiles(join(stateDir, "pids"));
  const network = claimPodNetwork(stateDir);
  const ips = new PodIpPool(
    (ip, uid) => pods.store.list().some((p) => p.status?.podIP === ip && p.metadata.uid !== uid && !p.spec.hostNetwork),
    network.octet,
  );
  for (const cfg of opts.nodes) {
    agents.set(
      cfg.name,
      new NodeAgent(cfg, {
        api,
        log,
        kubelet: { version: version.gitVersion, port: logServer.port },
        podsOnNode,
        lookups: lookupsFor(api),
        imageMap: opts.imageMap,
        pids,
        ips,
        stateDir,
        apiserverHost: api.server.hostname,
        apiserverPort,
      }),
    );
  }
  await Promise.all([...agents.values()].map((a) => a.register()));

  // Its retries read the claims cache below (set up before any claim is handed to it).
  const provisioner = new LocalPathProvisioner(api, stateDir, log.child({ component: "local-path-provisioner" }), (key) => claims.store.get(key));
  await provisioner.ensureStorageClass();

  const nodes = reflect<Node>(api, "/api/v1/nodes", log, (node, old) => {
    agents.get((node ?? old)?.metadata.name ?? "")?.nodeChanged(node);
  });
  const claims = reflect<PersistentVolumeClaim>(api, "/api/v1/persistentvolumeclaims", log, (pvc) => provisioner.claimChanged(pvc));
  const volumes = reflect<PersistentVolume>(api, "/api/v1/persistentvolumes", log, (pv) => provisioner.volumeChanged(pv));
  // Nodes first: a node's fault annotation must be known before its pods are run.
  nodes.start();
  await nodes.waitForSync();
  for (const r of [pods, claims, volumes]) r.start();
  log.info({ nodes: [...agents.keys()], version: version.gitVersion, podNetwork: `127.${network.octet}.0.0/16` }, "kubelet running");

  return {
    async stop(graceMs: number) {
      logServer.server.close();
      logServer.server.closeAllConnections();
      const workers = [...agents.values()].flatMap((a) => {
        a.stop();
        return [...a.workers.values()];
      });
      await Promise.all([...workers.map((w) => w.exit(graceMs)), ...[nodes, pods, claims, volumes].map((r) => r.stop())]);
      network.release();
    },
  };
}
