// The downward API: the pod fields a container may read through env
// (valueFrom.fieldRef) or a downwardAPI volume item.
import type { Pod } from "../api/types.js";

export interface PodRuntimeFields {
  podIP: string;
  hostIP: string;
}

/** `metadata.labels['app']` → ["labels", "app"] */
const MAP_KEY = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** Formats a label or annotation map the way the kubelet writes it to a file. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k])}`)
    .join("\n");
}

export function podField(pod: Pod, fieldPath: string, rt: PodRuntimeFields): string {
  const keyed = MAP_KEY.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[keyed[2] ?? ""] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.podIP":
    case "status.podIPs":
      return rt.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return rt.hostIP;
    default:
      throw new Error(`unsupported fieldPath: ${fieldPath}`);
  }
}
