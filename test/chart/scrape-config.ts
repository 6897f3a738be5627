// Plain Prometheus scrape jobs equivalent to the chart's ServiceMonitor and
// PodMonitor, with the labels the Prometheus Operator would give their
// targets, so a bare Prometheus in the tests scrapes exactly what the chart's
// monitors describe, relabelings included.
import type { KubeObject } from "./render.js";

type Relabel = Record<string, unknown>;

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface NamespaceSelector {
  any?: boolean;
  matchNames?: string[];
}

interface Endpoint {
  port?: string;
  path?: string;
  interval?: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  relabelings?: Relabel[];
}

/** Kubernetes label name → the suffix of Prometheus' __meta_kubernetes_*_label_<name>. */
const metaName = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, "_");

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** camelCase relabeling (the monitoring.coreos.com CRDs) → snake_case (Prometheus' config). */
function toPrometheusRelabel(r: Relabel): Relabel {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [
      k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      k === "action" && typeof v === "string" ? v.toLowerCase() : v,
    ]),
  );
}

/** Keeps the pods a Kubernetes label selector selects. */
function podSelectorRelabels(selector: LabelSelector): Relabel[] {
  const label = (k: string) => `__meta_kubernetes_pod_label_${metaName(k)}`;
  const present = (k: string) => `__meta_kubernetes_pod_labelpresent_${metaName(k)}`;
  const rules: Relabel[] = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => ({
    action: "keep",
    source_labels: [label(k), present(k)],
    regex: `(${escapeRegex(v)});true`,
  }));
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).map(escapeRegex).join("|")})`;
    switch (e.operator) {
      case "Exists":
        rules.push({ action: "keep", source_labels: [present(e.key)], regex: "true" });
        break;
      case "DoesNotExist":
        rules.push({ action: "drop", source_labels: [present(e.key)], regex: "true" });
        break;
      case "In":
        rules.push({ action: "keep", source_labels: [label(e.key), present(e.key)], regex: `${values};true` });
        break;
      case "NotIn":
        rules.push({ action: "drop", source_labels: [label(e.key), present(e.key)], regex: `${values};true` });
        break;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  }
  return rules;
}

function podDiscovery(kubeconfig: string, namespaces: NamespaceSelector, ownNamespace: string) {
  const names = namespaces.any ? undefined : (namespaces.matchNames ?? [ownNamespace]);
  return [{ role: "pod", kubeconfig_file: kubeconfig, ...(names ? { namespaces: { names } } : {}) }];
}

/** Finished pods are no endpoints, and the Prometheus Operator's PodMonitor skips them too. */
const SKIP_FINISHED_PODS: Relabel = { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "(Failed|Succeeded)" };

function endpointSettings(ep: Endpoint) {
  return {
    metrics_path: ep.path ?? "/metrics",
    honor_labels: ep.honorLabels ?? false,
    ...(ep.interval ? { scrape_interval: ep.interval } : {}),
    ...(ep.scrapeTimeout ? { scrape_timeout: ep.scrapeTimeout } : {}),
  };
}

const copy = (source: string, target: string): Relabel => ({ source_labels: [source], target_label: target });

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: string | number;
}

function matches(labels: Record<string, string> | undefined, selector: LabelSelector): boolean {
  if (selector.matchExpressions?.length) throw new Error("ServiceMonitor matchExpressions are not supported here");
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/**
 * A ServiceMonitor scrapes its Services' endpoints. The local cluster's pods have
 * 127.x addresses, which EndpointSlices refuse (loopback), so the endpoints are found
 * the way the endpoints controller finds them: the pods matching the Service's selector,
 * on the container port its targetPort names. The labels are the Prometheus Operator's.
 */
function serviceMonitorJobs(monitor: KubeObject, services: KubeObject[], kubeconfig: string): object[] {
  const spec = monitor.spec as { selector: LabelSelector; namespaceSelector?: NamespaceSelector; endpoints: Endpoint[] };
  const ns = monitor.metadata.namespace ?? "default";
  const selected = services.filter((s) => matches(s.metadata.labels, spec.selector));
  return selected.flatMap((service) => {
    const svc = service.spec as { selector: Record<string, string>; ports: ServicePort[] };
    return spec.endpoints.map((ep, i) => {
      const port = svc.ports.find((p) => p.name === ep.port);
      if (!port) throw new Error(`Service ${service.metadata.name} has no port named ${ep.port}`);
      const target = port.targetPort ?? port.port;
      const portMeta = typeof target === "string" ? "__meta_kubernetes_pod_container_port_name" : "__meta_kubernetes_pod_container_port_number";
      return {
        job_name: `serviceMonitor/${ns}/${monitor.metadata.name}/${i}`,
        ...endpointSettings(ep),
        kubernetes_sd_configs: podDiscovery(kubeconfig, spec.namespaceSelector ?? {}, ns),
        relabel_configs: [
          SKIP_FINISHED_PODS,
          ...podSelectorRelabels({ matchLabels: svc.selector }),
          { action: "keep", source_labels: [portMeta], regex: escapeRegex(String(target)) },
          copy("__meta_kubernetes_namespace", "namespace"),
          { target_label: "service", replacement: service.metadata.name },
          copy("__meta_kubernetes_pod_name", "pod"),
          copy("__meta_kubernetes_pod_container_name", "container"),
          { target_label: "job", replacement: service.metadata.name },
          { target_label: "endpoint", replacement: ep.port },
          ...(ep.relabelings ?? []).map(toPrometheusRelabel),
        ],
      };
    });
  });
}

function podMonitorJobs(monitor: KubeObject, kubeconfig: string): object[] {
  const spec = monitor.spec as { selector: LabelSelector; namespaceSelector?: NamespaceSelector; podMetricsEndpoints: Endpoint[] };
  const ns = monitor.metadata.namespace ?? "default";
  return spec.podMetricsEndpoints.map((ep, i) => ({
    job_name: `podMonitor/${ns}/${monitor.metadata.name}/${i}`,
    ...endpointSettings(ep),
    kubernetes_sd_configs: podDiscovery(kubeconfig, spec.namespaceSelector ?? {}, ns),
    relabel_configs: [
      SKIP_FINISHED_PODS,
      ...podSelectorRelabels(spec.selector),
      ...(ep.port ? [{ action: "keep", source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: escapeRegex(ep.port) }] : []),
      copy("__meta_kubernetes_namespace", "namespace"),
      copy("__meta_kubernetes_pod_container_name", "container"),
      copy("__meta_kubernetes_pod_name", "pod"),
      { target_label: "job", replacement: `${ns}/${monitor.metadata.name}` },
      ...(ep.relabelings ?? []).map(toPrometheusRelabel),
    ],
  }));
}

/** Scrape jobs for every ServiceMonitor (over the Services among `objects`) and PodMonitor. */
export function scrapeJobsFor(objects: KubeObject[], kubeconfig: string): object[] {
  const services = objects.filter((o) => o.kind === "Service");
  return objects.flatMap((o) =>
    o.kind === "ServiceMonitor"
      ? serviceMonitorJobs(o, services, kubeconfig)
      : o.kind === "PodMonitor"
        ? podMonitorJobs(o, kubeconfig)
        : [],
  );
}
