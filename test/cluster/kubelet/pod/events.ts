// The kubelet's Events about a pod (what `kubectl describe pod` lists):
// Pulled, Created, Started, Killing, BackOff, FailedMount, Failed. Posted
// without blocking the pod, and only while the node can reach the apiserver.
import { randomBytes } from "node:crypto";
import type { ApiClient } from "../api/client.js";
import type { Pod } from "../api/types.js";
import type { Logger } from "../log.js";
import type { WriteGate } from "../node/write-gate.js";

export type EventType = "Normal" | "Warning";
export type RecordEvent = (type: EventType, reason: string, message: string, container?: string) => void;

export function podEventRecorder(api: ApiClient, gate: WriteGate, pod: () => Pod, log: Logger): RecordEvent {
  return (type, reason, message, container) => {
    const p = pod();
    const { name, namespace = "default", uid } = p.metadata;
    const isInit = !!container && (p.spec.initContainers ?? []).some((c) => c.name === container);
    const node = p.spec.nodeName ?? "";
    const now = new Date().toISOString();
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        namespace,
        name,
        uid,
        ...(container ? { fieldPath: `spec.${isInit ? "initContainers" : "containers"}{${container}}` } : {}),
      },
      type,
      reason,
      message,
      source: { component: "kubelet", host: node },
      reportingComponent: "kubelet",
      reportingInstance: node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    void gate
      .writable()
      .then(() => api.create(`/api/v1/namespaces/${namespace}/events`, event))
      .catch((err) => log.debug({ err: String(err), reason }, "event not recorded"));
  };
}
