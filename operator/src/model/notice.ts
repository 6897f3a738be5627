// Reclaim notices: which node signals say a node is about to go (configured, with defaults
// for the clouds' handlers), and the one checkpoint request per notice and pod. Pure:
// reconcile reads the pod's node through these (the action that asks is reconcile/reclaim.ts's).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, parseCheckpointRequest, type CheckpointRequest } from "@resumable/protocol";

/**
 * What says a node is about to go, before the kubelet sends SIGTERM (docs/reclaim-notices.md):
 * a taint key, a node condition with a status, or the cordon (spec.unschedulable). `source`
 * names the signal in events, status and metric labels, so it is one of a configured, bounded set.
 */
export type NoticeSignal =
  | { source: string; taint: string }
  | { source: string; condition: string; status: string }
  | { source: string; cordon: true };

/**
 * The defaults, most specific first: a node with a spot-itn taint is also cordoned, and the
 * notice is named after the taint. Sources are cited in docs/reclaim-notices.md.
 */
export const DEFAULT_NOTICE_SIGNALS: readonly NoticeSignal[] = [
  { source: "aws-spot-itn", taint: "aws-node-termination-handler/spot-itn" },
  { source: "aws-scheduled-maintenance", taint: "aws-node-termination-handler/scheduled-maintenance" },
  { source: "aws-rebalance-recommendation", taint: "aws-node-termination-handler/rebalance-recommendation" },
  { source: "karpenter-disrupted", taint: "karpenter.sh/disrupted" },
  { source: "gke-impending-termination", taint: "cloud.google.com/impending-node-termination" },
  { source: "aks-autodrain", taint: "remediator.kubernetes.azure.com/unschedulable" },
  { source: "aks-autodrain", taint: "remediator.aks.microsoft.com/unschedulable" },
  { source: "cordon", cordon: true },
];

const SOURCE = /^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$/;

/**
 * `--notice-signals` / RESUMABLE_NOTICE_SIGNALS: comma-separated `source=taint:KEY`,
 * `source=condition:TYPE=STATUS` or `source=cordon`, replacing the defaults; `default` stands
 * for the default list (so `default,my-drain=taint:example.com/draining` adds one); `none`
 * alone watches nothing. Throws with the entry that is wrong.
 */
export function parseNoticeSignals(text: string): NoticeSignal[] {
  if (text.trim() === "none") return [];
  const signals: NoticeSignal[] = [];
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    if (entry === "default") {
      signals.push(...DEFAULT_NOTICE_SIGNALS);
      continue;
    }
    const eq = entry.indexOf("=");
    const source = entry.slice(0, eq);
    const what = entry.slice(eq + 1);
    if (eq < 0 || !SOURCE.test(source)) throw new Error(`notice signal "${entry}": expected source=taint:KEY, source=condition:TYPE=STATUS or source=cordon, the source a lower-case name of at most 48 characters`);
    if (what === "cordon") signals.push({ source, cordon: true });
    else if (what.startsWith("taint:") && what.length > 6) signals.push({ source, taint: what.slice(6) });
    else if (what.startsWith("condition:") && /^[^=]+=[^=]+$/.test(what.slice(10))) {
      const [condition, status] = what.slice(10).split("=") as [string, string];
      signals.push({ source, condition, status });
    } else throw new Error(`notice signal "${entry}": "${what}" is not taint:KEY, condition:TYPE=STATUS or cordon`);
  }
  if (signals.length > 32) throw new Error(`notice signals: ${signals.length} given, at most 32 (each source is a metric label)`);
  return signals;
}

/** A notice on a node: which signal, and since when if the node says (taint timeAdded, condition transition). */
export interface NodeNotice {
  source: string;
  node: string;
  /** What matched, for the event: `taint aws-node-termination-handler/spot-itn`. */
  detail: string;
  since: string | undefined;
}

/** The first configured signal the node shows, or undefined. */
export function nodeNotice(node: V1Node | undefined, signals: readonly NoticeSignal[]): NodeNotice | undefined {
  if (!node) return undefined;
  const name = node.metadata?.name ?? "";
  for (const s of signals) {
    if ("taint" in s) {
      const taint = node.spec?.taints?.find((t) => t.key === s.taint);
      if (taint) return { source: s.source, node: name, detail: `taint ${s.taint}`, since: timeString(taint.timeAdded) };
    } else if ("condition" in s) {
      const c = node.status?.conditions?.find((x) => x.type === s.condition && x.status === s.status);
      if (c) return { source: s.source, node: name, detail: `condition ${s.condition}=${s.status}`, since: timeString(c.lastTransitionTime) };
    } else if (node.spec?.unschedulable === true) {
      return { source: s.source, node: name, detail: "cordoned (spec.unschedulable)", since: undefined };
    }
  }
  return undefined;
}

/**
 * The checkpoint request for `pod` under `notice` (first seen at `at`), or undefined when the
 * pod already carries it: one request per notice and pod. The id is the source and node, so a
 * second pass, a restarted operator or a standby taking over asks nothing new, while another
 * signal on the same node (rebalance, then spot-itn) is a new request.
 */
export function checkpointRequestFor(pod: V1Pod, notice: NodeNotice, at: string): CheckpointRequest | undefined {
  const id = `${notice.source}@${notice.node}`;
  return carriesRequest(pod, id) ? undefined : { id, reason: `${notice.source}: ${notice.detail} on node ${notice.node}`, at };
}

/** Whether `pod` already carries the checkpoint request `id`: asked once per request. */
export function carriesRequest(pod: V1Pod, id: string): boolean {
  const current = parseCheckpointRequest(pod.metadata?.annotations?.[CHECKPOINT_REQUEST_ANNOTATION] ?? "");
  return current.kind === "request" && current.request.id === id;
}

function timeString(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t instanceof Date ? t.toISOString() : t;
}
