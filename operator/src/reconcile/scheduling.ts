// Where a trainer pod may run: the user's scheduling fields, and for a spot run the clouds'
// spot or on-demand node labels and taints, by the capacity its attempt goes to (capacity.ts
// decides which). Pure: render.ts puts the result on the pod.
import type { V1Affinity, V1NodeSelectorTerm, V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import type { SchedulingSpec } from "../api/spec.js";
import type { CapacityType } from "../api/status.js";

/**
 * `spot: true`: any one of the clouds' spot labels will do (node selector terms are ORed),
 * and the taints the clouds put on spot nodes are tolerated.
 */
const SPOT_NODE_TERMS: V1NodeSelectorTerm[] = [
  { matchExpressions: [{ key: "cloud.google.com/gke-spot", operator: "In", values: ["true"] }] },
  { matchExpressions: [{ key: "cloud.google.com/gke-preemptible", operator: "In", values: ["true"] }] },
  { matchExpressions: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }] },
  { matchExpressions: [{ key: "eks.amazonaws.com/capacityType", operator: "In", values: ["SPOT"] }] },
  { matchExpressions: [{ key: "kubernetes.azure.com/scalesetpriority", operator: "In", values: ["spot"] }] },
];

const SPOT_TOLERATIONS: V1Toleration[] = [
  { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" },
];

/**
 * A spot run's attempt that fell back to on-demand (spec.scheduling.fallback): any one of the
 * clouds' on-demand labels. AKS marks only spot nodes, so there it is an agent pool node
 * without the spot priority label.
 */
const ON_DEMAND_NODE_TERMS: V1NodeSelectorTerm[] = [
  { matchExpressions: [{ key: "cloud.google.com/gke-provisioning", operator: "In", values: ["standard"] }] },
  { matchExpressions: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }] },
  { matchExpressions: [{ key: "eks.amazonaws.com/capacityType", operator: "In", values: ["ON_DEMAND"] }] },
  {
    matchExpressions: [
      { key: "kubernetes.azure.com/agentpool", operator: "Exists" },
      { key: "kubernetes.azure.com/scalesetpriority", operator: "DoesNotExist" },
    ],
  },
];

type PodScheduling = Pick<V1PodSpec, "nodeSelector" | "tolerations" | "affinity" | "priorityClassName">;

/**
 * The pod's placement. `capacity` is where this attempt goes. On spot: fallback.spotNodeSelector
 * and spotTolerations (a pool of its own labels), else the clouds' spot labels and taints. A
 * spot run on on-demand loses those and gets fallback.onDemandNodeSelector, else the clouds'
 * on-demand labels.
 */
export function podScheduling(scheduling: SchedulingSpec, capacity: CapacityType): PodScheduling {
  const affinity = scheduling.affinity as V1Affinity | undefined;
  const tolerations = scheduling.tolerations as V1Toleration[] | undefined;
  const base = { nodeSelector: scheduling.nodeSelector, priorityClassName: scheduling.priorityClassName };
  if (!scheduling.spot) return { ...base, tolerations, affinity };
  const spotPool = scheduling.fallback?.spotNodeSelector;
  if (capacity === "spot" && spotPool !== undefined) {
    const spotTolerations = (scheduling.fallback?.spotTolerations ?? []) as V1Toleration[];
    return { ...base, nodeSelector: { ...scheduling.nodeSelector, ...spotPool }, tolerations: withAll(tolerations, spotTolerations), affinity };
  }
  if (capacity === "spot") return { ...base, tolerations: withAll(tolerations, SPOT_TOLERATIONS), affinity: requireNodeTerms(affinity, SPOT_NODE_TERMS) };
  const selector = scheduling.fallback?.onDemandNodeSelector;
  if (selector !== undefined) return { ...base, nodeSelector: { ...scheduling.nodeSelector, ...selector }, tolerations, affinity };
  return { ...base, tolerations, affinity: requireNodeTerms(affinity, ON_DEMAND_NODE_TERMS) };
}

/** The user's tolerations and the spot pool's; undefined when there are none (as the user's alone would be). */
function withAll(user: V1Toleration[] | undefined, spot: V1Toleration[]): V1Toleration[] | undefined {
  const all = [...(user ?? []), ...spot];
  return all.length === 0 ? undefined : all;
}

/** Adds `terms` to the required node affinity with AND semantics, keeping the user's terms. */
function requireNodeTerms(affinity: V1Affinity | undefined, terms: V1NodeSelectorTerm[]): V1Affinity {
  const required = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const userTerms = required?.nodeSelectorTerms ?? [];
  // Terms are ORed and expressions inside a term ANDed: (u1 ∨ u2) ∧ (s1 ∨ s2) = ∨ (ui ∧ sj).
  const combined =
    userTerms.length === 0
      ? terms
      : userTerms.flatMap((u) =>
          terms.map((s) => ({
            matchExpressions: [...(u.matchExpressions ?? []), ...(s.matchExpressions ?? [])],
            ...(u.matchFields ? { matchFields: u.matchFields } : {}),
          })),
        );
  return {
    ...affinity,
    nodeAffinity: {
      ...affinity?.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: { ...required, nodeSelectorTerms: combined },
    },
  };
}
