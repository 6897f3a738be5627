// Whether a node in the cache could take a pod the operator is about to create: the
// scheduler's main predicates (node selector, required node affinity, taints, room),
// evaluated on cached objects before a healthy pod is stopped for one that would wait.
// Pure: a best judgement from the cache, never a promise the scheduler keeps.
import type { V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1Pod, V1Toleration } from "@kubernetes/client-node";
import { nodeNotice, type NoticeSignal } from "../model/notice.js";
import { isAlive } from "../model/observe.js";

/**
 * Why `node` cannot take `pod` now, or undefined when it could. `others` are the pods the
 * cache knows on that node (the operator's trainer pods only: it watches no other pods), so
 * "room" is room left by them; the pending bound catches a node someone else filled.
 */
export function whyNot(node: V1Node, pod: V1Pod, others: readonly V1Pod[], signals: readonly NoticeSignal[]): string | undefined {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "True") return "not Ready";
  if (node.spec?.unschedulable === true) return "cordoned";
  const notice = nodeNotice(node, signals);
  if (notice !== undefined) return `reclaim notice (${notice.detail})`;
  const spec = pod.spec;
  const labels = node.metadata?.labels ?? {};
  const selector = Object.entries(spec?.nodeSelector ?? {}).find(([k, v]) => labels[k] !== v);
  if (selector !== undefined) return `no label ${selector[0]}=${selector[1]}`;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms !== undefined && terms.length > 0 && !terms.some((t) => termMatches(t, labels))) return "required node affinity does not match";
  const taint = node.spec?.taints?.find((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !(spec?.tolerations ?? []).some((x) => tolerates(x, t)));
  if (taint !== undefined) return `untolerated taint ${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
  return noRoom(node, pod, others);
}

function termMatches(term: V1NodeSelectorTerm, labels: Record<string, string>): boolean {
  // matchFields (metadata.name) is not something a spot pool is chosen by: such a term is taken as not matching.
  if ((term.matchFields ?? []).length > 0) return false;
  return (term.matchExpressions ?? []).every((e) => requirementHolds(e, labels));
}

function requirementHolds(e: V1NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const value = labels[e.key];
  const values = e.values ?? [];
  switch (e.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      const [n, bound] = [Number(value), Number(values[0])];
      if (value === undefined || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
      return e.operator === "Gt" ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** core/v1 Toleration.ToleratesTaint. */
function tolerates(t: V1Toleration, taint: { key: string; value?: string; effect: string }): boolean {
  if (t.effect !== undefined && t.effect !== "" && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== "" && t.key !== taint.key) return false;
  if (t.operator === "Exists") return true;
  return (t.value ?? "") === (taint.value ?? "");
}

/** The first resource the pod requests that the node's allocatable, less the known pods' requests, cannot give. */
function noRoom(node: V1Node, pod: V1Pod, others: readonly V1Pod[]): string | undefined {
  const allocatable = node.status?.allocatable ?? {};
  for (const [resource, wanted] of Object.entries(requestsOf(pod))) {
    const total = allocatable[resource] === undefined ? 0 : quantityValue(allocatable[resource]);
    const used = others.filter((p) => isAlive(p) && p.metadata?.uid !== pod.metadata?.uid).reduce((sum, p) => sum + (requestsOf(p)[resource] ?? 0), 0);
    if (wanted > total - used) return `no room for ${resource} (${wanted} wanted, ${Math.max(0, total - used)} free)`;
  }
  return undefined;
}

/** A pod's requests by resource, a limit standing in for an unset request (as the apiserver defaults it). */
function requestsOf(pod: V1Pod): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of pod.spec?.containers ?? []) {
    const resources = { ...c.resources?.limits, ...c.resources?.requests };
    for (const [k, v] of Object.entries(resources)) sum[k] = (sum[k] ?? 0) + quantityValue(v);
  }
  return sum;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A resource.Quantity as a number; NaN for text that is not one (which then never fits). */
export function quantityValue(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/.exec(q.trim());
  if (m === null) return Number.NaN;
  const [, digits = "", suffix = ""] = m;
  if (/^[eE]/.test(suffix)) return Number(digits + suffix);
  return Number(digits) * (SUFFIX[suffix] ?? Number.NaN);
}

/** The first cached node that could take `pod`, or why none could (for the status message). */
export function nodeFor(
  pod: V1Pod,
  nodes: ReadonlyMap<string, V1Node>,
  podsOnNode: (node: string) => readonly V1Pod[],
  signals: readonly NoticeSignal[],
): { node: string } | { none: string } {
  const reasons = new Map<string, number>();
  for (const [name, node] of nodes) {
    const why = whyNot(node, pod, podsOnNode(name), signals);
    if (why === undefined) return { node: name };
    // Counted by kind, as the scheduler's own message does: "no room for nvidia.com/gpu", not each node's numbers.
    const kind = why.split(" (")[0] ?? why;
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  const summary = [...reasons].map(([why, n]) => `${n} ${why}`).join(", ");
  return { none: `0/${nodes.size} nodes could take it${summary ? `: ${summary}` : ""}` };
}
