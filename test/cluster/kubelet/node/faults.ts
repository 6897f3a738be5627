// Faults any API client can inject into a node by annotating it, e.g.
//   kubectl annotate node spot-a resumable.dev/fault=spot-reclaim
// docs/local-cluster.md describes what each one does.

export const FAULT_ANNOTATION = "resumable.dev/fault";

const FAULTS = ["spot-reclaim", "hard-loss", "partition"] as const;
export type Fault = (typeof FAULTS)[number];

/** The fault an annotation value names; undefined for none or an unknown value. */
export function parseFault(value: string | undefined): Fault | undefined {
  return FAULTS.find((f) => f === value?.trim());
}

/**
 * A reclaim notice before the shutdown, as the cloud's handler posts it: with
 *   resumable.dev/fault-notice=<kind>            (one of NOTICE_KINDS)
 *   resumable.dev/fault-notice-seconds=<N>       (default 10)
 * next to `resumable.dev/fault=spot-reclaim`, the node is first tainted (or cordoned) as the
 * kind's handler does, and the graceful shutdown follows N seconds later.
 */
export const NOTICE_ANNOTATION = "resumable.dev/fault-notice";
export const NOTICE_SECONDS_ANNOTATION = "resumable.dev/fault-notice-seconds";
const DEFAULT_NOTICE_SECONDS = 10;

/** What each kind does to the Node; the taint keys are the handlers' own (docs/reclaim-notices.md). */
export const NOTICE_KINDS = {
  "aws-spot-itn": { taint: "aws-node-termination-handler/spot-itn" },
  "aws-rebalance-recommendation": { taint: "aws-node-termination-handler/rebalance-recommendation" },
  "aws-scheduled-maintenance": { taint: "aws-node-termination-handler/scheduled-maintenance" },
  "karpenter-disrupted": { taint: "karpenter.sh/disrupted" },
  "gke-impending-termination": { taint: "cloud.google.com/impending-node-termination" },
  "aks-autodrain": { taint: "remediator.kubernetes.azure.com/unschedulable" },
  cordon: { cordon: true },
} as const satisfies Record<string, { taint: string } | { cordon: true }>;
export type NoticeKind = keyof typeof NOTICE_KINDS;

export interface PlannedNotice {
  kind: NoticeKind;
  seconds: number;
}

/**
 * The notice the node's annotations ask for before a spot-reclaim; undefined for none. An
 * unknown kind or a bad number is an error naming it (the fault is then played without notice
 * and the kubelet logs why), never silently a different fault.
 */
export function parseNotice(annotations: Record<string, string> | undefined): PlannedNotice | undefined | Error {
  const kind = annotations?.[NOTICE_ANNOTATION]?.trim();
  if (!kind) return undefined;
  if (!(kind in NOTICE_KINDS)) return new Error(`${NOTICE_ANNOTATION}=${kind}: unknown; one of ${Object.keys(NOTICE_KINDS).join(", ")}`);
  const text = annotations?.[NOTICE_SECONDS_ANNOTATION]?.trim();
  const seconds = text === undefined || text === "" ? DEFAULT_NOTICE_SECONDS : Number(text);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) return new Error(`${NOTICE_SECONDS_ANNOTATION}=${text}: expected seconds from 0 to 3600`);
  return { kind: kind as NoticeKind, seconds };
}

/** The Node's spec after the notice: the kind's NoSchedule taint added, or the node cordoned. */
export function noticeSpec(kind: NoticeKind, spec: { taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean }) {
  const what: { taint: string } | { cordon: true } = NOTICE_KINDS[kind];
  if ("cordon" in what) return { unschedulable: true };
  const taints = spec.taints ?? [];
  if (taints.some((t) => t.key === what.taint)) return { taints };
  return { taints: [...taints, { key: what.taint, effect: "NoSchedule" }] };
}
