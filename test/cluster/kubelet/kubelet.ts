// The process kubelet: one process playing every node of nodes.json. It
// watches Nodes (for faults), bound Pods (to run them) and, for the
// local-path provisioner, claims and volumes, and routes each change to the
// node or provisioner it concerns.
import { join } from "node:path";
import { isNotFound, type ApiClient } from "./api-client.js";
import type { ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret } from "./api-types.js";
import type { ImageMap, NodeConfig } from "./config.js";
import type { ObjectLookups } from "./env.js";
import type { Logger } from "./log.js";
import { NodeAgent } from "./node-agent.js";
import { PidFiles } from "./pid-files.js";
import { PodIpPool } from "./pod-ip-pool.js";
import { LocalPathProvisioner } from "./provisioner.js";
import { startLogServer } from "./log-server.js";
import { Reflector } from "./reflector.js";

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

export async function startKubelet(opts: KubeletOptions): Promise<RunningKubelet> {
  const { api, log, stateDir } = opts;
  const stop = new AbortController();
  const version = await api.get<{ gitVersion: string }>("/version");
  const agents = new Map<string, NodeAgent>();

  const pods = new Reflector<Pod>(api, "/api/v1/pods", { fieldSelector: "spec.nodeName!=" }, (_k, pod, old) => {
    agents.get((pod ?? old)?.spec.nodeName ?? "")?.podChanged(pod, old);
  }, log);
  const podsOnNode = (node: string) => [...pods.store.values()].filter((p) => p.spec.nodeName === node);
  const logServer = await startLogServer(stateDir, {
    podUid: (ns, name) => pods.store.get(`${ns}/${name}`)?.metadata.uid,
    running: (ns, name, container) => {
      const status = pods.store.get(`${ns}/${name}`)?.status;
      const all = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])];
      return all.some((c) => c.name === container && !!c.state.running);
    },
  }, log);
  const apiserverPort = Number(api.server.port || 443);
  // Shared by all nodes: pod IPs are unique across the cluster, and cluster-down finds every pid in one place.
  const pids = new PidFiles(join(stateDir, "pids"));
  const ips = new PodIpPool((ip, uid) =>
    [...pods.store.values()].some((p) => p.status?.podIP === ip && p.metadata.uid !== uid && !p.spec.hostNetwork),
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

  const provisioner = new LocalPathProvisioner(api, stateDir, log.child({ component: "local-path-provisioner" }));
  await provisioner.ensureStorageClass();

  const nodes = new Reflector<Node>(api, "/api/v1/nodes", {}, (_k, node, old) => {
    agents.get((node ?? old)?.metadata.name ?? "")?.nodeChanged(node);
  }, log);
  const claims = new Reflector<PersistentVolumeClaim>(api, "/api/v1/persistentvolumeclaims", {}, (_k, pvc) =>
    provisioner.claimChanged(pvc), log);
  const volumes = new Reflector<PersistentVolume>(api, "/api/v1/persistentvolumes", {}, (_k, pv) =>
    provisioner.volumeChanged(pv), log);
  // Nodes first: a node's fault annotation must be known before its pods are run.
  const loops = [nodes.run(stop.signal)];
  await nodes.hasSynced();
  loops.push(...[pods, claims, volumes].map((r) => r.run(stop.signal)));
  log.info({ nodes: [...agents.keys()], version: version.gitVersion }, "kubelet running");

  return {
    async stop(graceMs: number) {
      stop.abort();
      logServer.server.close();
      logServer.server.closeAllConnections();
      const workers = [...agents.values()].flatMap((a) => {
        a.stop();
        return [...a.workers.values()];
      });
      await Promise.all([...workers.map((w) => w.exit(graceMs)), ...loops]);
    },
  };
}
