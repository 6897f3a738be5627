// The Node a kubelet registers and the status it reports, with the
// kubelet's own labels, annotations, condition reasons and messages
// (pkg/kubelet/kubelet_node_status.go, pkg/kubelet/nodestatus/setters.go).
import { readFileSync } from "node:fs";
import { arch, hostname, release } from "node:os";
import type { Node, NodeCondition, Unsaved } from "../api/types.js";
import type { NodeConfig } from "../config.js";

export const HOST_IP = "127.0.0.1";

/** Capacity the kubelet requires for Ready (ephemeral-storage since LocalStorageCapacityIsolation). */
const DEFAULT_CAPACITY = { "ephemeral-storage": "100Gi", "hugepages-2Mi": "0" };

const goArch = () => ({ x64: "amd64", arm64: "arm64" })[arch() as "x64" | "arm64"] ?? arch();

function osImage(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

export function nodeObject(cfg: NodeConfig): Unsaved<Node> {
  const a = goArch();
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: cfg.name,
      labels: {
        "beta.kubernetes.io/arch": a,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": a,
        "kubernetes.io/hostname": cfg.name,
        "kubernetes.io/os": "linux",
        ...cfg.labels,
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
    },
    spec: { taints: cfg.taints },
  };
}

export interface ReadyState {
  /** Why the node is not ready (e.g. "node is shutting down"), or undefined when it is. */
  notReadyMessage?: string;
}

/** The Ready condition last; lastTransitionTime kept while a status is unchanged. */
export function nodeConditions(previous: NodeCondition[], ready: ReadyState, now: string): NodeCondition[] {
  const conditions: Omit<NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">[] = [
    { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available" },
    { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure" },
    { type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available" },
    ready.notReadyMessage
      ? { type: "Ready", status: "False", reason: "KubeletNotReady", message: ready.notReadyMessage }
      : { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
  ];
  return conditions.map((c) => {
    const old = previous.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastHeartbeatTime: now, lastTransitionTime };
  });
}

/** What this kubelet says about itself in every node's status. */
export interface KubeletInfo {
  version: string;
  /** The HTTPS port of the log server (the node's daemon endpoint). */
  port: number;
}

export function nodeStatus(cfg: NodeConfig, conditions: NodeCondition[], kubelet: KubeletInfo, bootID: string): Node["status"] {
  const capacity = { ...DEFAULT_CAPACITY, ...cfg.capacity };
  return {
    capacity,
    allocatable: capacity,
    conditions,
    addresses: [
      { type: "InternalIP", address: HOST_IP },
      // The machine's name, as a kubelet without --hostname-override reports it: the
      // apiserver dials it (before InternalIP) to reach the log server.
      { type: "Hostname", address: hostname() },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
    nodeInfo: {
      machineID: cfg.name,
      systemUUID: cfg.name,
      bootID,
      kernelVersion: release(),
      osImage: osImage(),
      containerRuntimeVersion: `process://${process.version}`,
      kubeletVersion: kubelet.version,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: goArch(),
    },
  };
}
