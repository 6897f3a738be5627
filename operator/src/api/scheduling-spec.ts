// spec.scheduling: where a trainer pod may run (node selector, tolerations, affinity, spot)
// and the capacity policy that moves a spot run to on-demand nodes and back.
import { z } from "zod";
import { objectName, passThrough } from "./kube-values.js";
import { withRules } from "./rules.js";

const toleration = withRules(
  z.object({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
  }),
  // The apiserver's own pod validation, which would otherwise refuse every attempt's pod.
  [
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: "value must be empty when operator is Exists",
      field: ".value",
      holds: (t) => t.operator !== "Exists" || !t.value,
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: "tolerationSeconds needs effect NoExecute",
      field: ".tolerationSeconds",
      holds: (t) => t.tolerationSeconds === undefined || t.effect === "NoExecute",
    },
    {
      rule: "has(self.key) && self.key != '' || has(self.operator) && self.operator == 'Exists'",
      message: "an empty key needs operator Exists",
      field: ".key",
      holds: (t) => Boolean(t.key) || t.operator === "Exists",
    },
  ],
);

/** Label syntax (apimachinery's IsQualifiedName / IsValidLabelValue), for JS and the CRD's pattern alike. */
const LABEL_NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const LABEL_KEY = `^(${DNS_LABEL}([.]${DNS_LABEL})*/)?${LABEL_NAME}$`;
const LABEL_VALUE = `^(${LABEL_NAME})?$`;

/**
 * Label keys and values, as the apiserver's pod validation would refuse them for every
 * attempt. Values are a schema pattern the CRD checks; keys only zod can check (a structural
 * schema cannot constrain map keys, and a CEL regex over unbounded keys exceeds the
 * apiserver's cost budget), so a bad key is Valid=False before any pod, not an apiserver error.
 */
const nodeSelector = z
  .record(z.string(), z.string().max(63).regex(new RegExp(LABEL_VALUE), "must be a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)"))
  .superRefine((selector, ctx) => {
    const bad = Object.keys(selector).find((k) => k.length > 317 || !new RegExp(LABEL_KEY).test(k));
    if (bad !== undefined) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(bad)} is not a label key ([prefix/]name, name at most 63 of A-Z a-z 0-9 - _ .)` });
    }
  });

/**
 * The capacity policy of a spot run: when the next attempt goes to on-demand nodes, and
 * when it comes back. A move back to spot is planned (at a checkpoint boundary, graceful)
 * and never counts as a preemption.
 */
const fallback = withRules(
  z.object({
    afterPreemptions: z
      .int()
      .min(1)
      .optional()
      .describe("After this many preemptions on spot (counted since the run last came to spot), the next attempt goes to on-demand."),
    afterPendingSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("When the next attempt's pod has been unschedulable on spot (PodScheduled=False/Unschedulable) this long, it is recreated on on-demand."),
    returnToSpotAfterSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("After this long on on-demand, the run moves back to spot at its next checkpoint; unset: it stays on on-demand."),
    onDemandNodeSelector: nodeSelector
      .optional()
      .describe("Labels of the on-demand nodes; unset: any one of the clouds' on-demand labels (GKE, Karpenter, EKS, AKS)."),
    spotNodeSelector: nodeSelector
      .optional()
      .describe("Labels of the spot nodes, for a spot pool the clouds' labels do not mark; unset: any one of the clouds' spot labels (GKE, Karpenter, EKS, AKS)."),
    spotTolerations: z
      .array(toleration)
      .max(16)
      .optional()
      .describe("The taints of the spot pool spotNodeSelector names, tolerated on spot only; they replace the clouds' spot tolerations."),
  }),
  [
    {
      rule: "has(self.afterPreemptions) || has(self.afterPendingSeconds)",
      message: "set afterPreemptions or afterPendingSeconds (or both): without either the run never falls back",
      field: "",
      holds: (f) => f.afterPreemptions !== undefined || f.afterPendingSeconds !== undefined,
    },
    {
      rule: "!has(self.spotTolerations) || has(self.spotNodeSelector)",
      message: "spotTolerations needs spotNodeSelector: without it the spot pool is the clouds' own, whose taints are tolerated already",
      field: ".spotTolerations",
      holds: (f) => f.spotTolerations === undefined || f.spotNodeSelector !== undefined,
    },
  ],
).describe("Fall back from spot to on-demand nodes when spot is reclaimed too often or cannot be had, and return later.");

export const schedulingSchema = withRules(
  z.object({
    nodeSelector: nodeSelector.optional(),
    tolerations: z.array(toleration).max(64).optional(),
    affinity: passThrough.optional().describe("A core/v1 Affinity, passed to the pod as is."),
    priorityClassName: objectName.optional(),
    spot: z
      .boolean()
      .default(false)
      .describe("Require a spot node (GKE spot or preemptible, EKS with Karpenter or managed node groups, AKS) and tolerate its taints. In a Kueue queue the assigned flavor's node terms decide instead, and fallback is off."),
    fallback: fallback.optional(),
    gangTimeoutSeconds: z
      .int()
      .min(10)
      .max(86400)
      .default(300)
      .describe("With workers > 1: when not every rank is Running this long after the attempt's pods were created (in a Kueue queue: admitted), they are all deleted (a partial gang never holds its nodes idle longer) and the gang is tried again with the failure backoff, charged to no budget. At least 10: pulling an image and starting a pod takes seconds."),
  }),
  [
    {
      rule: "!has(self.fallback) || (has(self.spot) && self.spot)",
      message: "fallback needs spot: true (it moves a spot run to on-demand and back)",
      field: ".fallback",
      holds: (s) => s.fallback === undefined || s.spot,
    },
  ],
);
