import type { V1Affinity, V1NodeSelectorTerm, V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import type { SchedulingSpec } from "../api/spec.js";

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

type PodScheduling = Pick<V1PodSpec, "nodeSelector" | "tolerations" | "affinity" | "priorityClassName">;

export function podScheduling(scheduling: SchedulingSpec): PodScheduling {
  const affinity = scheduling.affinity as V1Affinity | undefined;
  const tolerations = scheduling.tolerations as V1Toleration[] | undefined;
  return {
    nodeSelector: scheduling.nodeSelector,
    priorityClassName: scheduling.priorityClassName,
    tolerations: scheduling.spot ? [...(tolerations ?? []), ...SPOT_TOLERATIONS] : tolerations,
    affinity: scheduling.spot ? requireNodeTerms(affinity, SPOT_NODE_TERMS) : affinity,
  };
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
