// A gang's attempt (spec.workers > 1): N pods, one per rank, that form, train and end as one.
// Its ranks on the record, their addresses published once all are known, the formation bound
// (all or nothing), and the one outcome of the attempt read from all its ranks.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { disruptionOf, encodePeers, PEERS_ANNOTATION, type PlannedStop } from "@resumable/protocol";
import type { TrainingRunSpec } from "../api/spec.js";
import type { AttemptRecord } from "../api/status.js";
import type { QueueWorkload } from "../model/kueue.js";
import { isAlive, isTerminating, type ObservedPods } from "../model/observe.js";
import { toDate, toTimestamp } from "../model/time.js";
import { endAttempt } from "./attempt-end.js";
import type { Draft } from "./draft.js";
import { assessPod, type NodeHealth, type Outcome } from "./pod-outcome.js";

/** The record fields of a new gang's attempt: its ranks, and when its formation bound starts. */
export function gangRecord(names: readonly string[], now: Date): Partial<AttemptRecord> {
  if (names.length <= 1) return {};
  return { ranks: names.map((pod, rank) => ({ rank, pod })), createdAt: toTimestamp(now) };
}

/**
 * The pods of a gang's attempt by rank: from the cache, or as they ended if they are gone
 * since (Observed.endedPodsGone); undefined for a rank not seen (yet, or any more).
 */
export function rankPods(d: Draft, record: AttemptRecord, pods: ObservedPods): (V1Pod | undefined)[] {
  const cached = pods.ranks.get(record.attempt);
  return (record.ranks ?? []).map(
    (r) =>
      cached?.get(r.rank) ??
      d.observed.endedPodsGone?.find((p) => p.metadata?.name === r.pod && (r.uid === undefined || p.metadata?.uid === r.uid)),
  );
}

/** Ranks created by an earlier pass but never seen: creating them again is idempotent by name. */
export function unseenRanks(record: AttemptRecord, pods: ObservedPods): number[] {
  const cached = pods.ranks.get(record.attempt);
  return (record.ranks ?? []).filter((r) => r.uid === undefined && !cached?.has(r.rank)).map((r) => r.rank);
}

/** Each rank's pod and node on the record, as for a single pod (attempts.ts notePod). */
export function noteRanks(record: AttemptRecord, ranks: readonly (V1Pod | undefined)[]): void {
  for (const r of record.ranks ?? []) {
    const pod = ranks[r.rank];
    const uid = pod?.metadata?.uid;
    const node = pod?.spec?.nodeName;
    if (uid !== undefined) r.uid = uid;
    if (node !== undefined) r.node = node;
  }
}

/** What all the ranks say about the attempt: ended (and from which rank), or still going. */
export type GangAssessment =
  | { ended: Outcome; rank: number }
  | { ended?: undefined; running: boolean; node: NodeHealth; lostRank?: number };

/** A survivor's exit when a peer died without a trace: part of someone else's outcome. */
const PEER_LOST = "PeerLost";
/** A rank that stopped through the agreement (a peer's SIGTERM), not the one disrupted. */
const AGREED_STOP = "TrainerPreempted";

/**
 * The one outcome of a gang's attempt, from every rank's own (pod-outcome.ts). Any rank
 * disrupted: the gang was preempted (or moved), from the rank the cluster marked; survivors
 * that stopped with it or lost their peer are part of that. Else any rank failed: the gang
 * failed, a rank's own failure before a survivor's PeerLost. All completed: rank 0's
 * completion. A rank seen before and now gone was deleted (PodDeleted).
 */
export function assessGang(
  record: AttemptRecord,
  ranks: readonly (V1Pod | undefined)[],
  nodes: ReadonlyMap<string, V1Node>,
  planned?: PlannedStop,
  workload?: QueueWorkload,
): GangAssessment {
  const each = ranks.map((pod, rank) => {
    if (pod !== undefined) return assessPod(pod, nodes, planned, workload);
    const seen = record.ranks?.[rank]?.uid !== undefined;
    return seen ? { ended: { reason: "Preempted", detail: "PodDeleted" } satisfies Outcome } : undefined;
  });
  const ended = each.map((a) => a?.ended);
  const withRank = (rank: number, outcome: Outcome): { ended: Outcome; rank: number } => {
    const rank0 = ended[0];
    // Rank 0's report is the gang's (it alone saves): its steps, its checkpoint.
    const summary = rank0?.summary ?? outcome.summary;
    return { ended: { ...outcome, ...(summary === undefined ? {} : { summary }) }, rank };
  };

  const disrupted = ended.findIndex((o) => o !== undefined && (o.reason === "Preempted" || o.reason === "Moved"));
  if (disrupted >= 0) {
    const marked = ended.findIndex((o) => (o?.reason === "Preempted" || o?.reason === "Moved") && o.detail !== AGREED_STOP);
    if (marked >= 0) return withRank(marked, ended[marked]!);
    // The marked rank may still be stopping (a DisruptionTarget, a delete) after a survivor ended.
    const stopping = ranks.findIndex((pod) => pod !== undefined && isAlive(pod) && disruptionOf(pod, undefined, planned) !== undefined);
    if (stopping >= 0) return withRank(stopping, { ...ended[disrupted]!, detail: disruptionOf(ranks[stopping]!, undefined, planned)!.signal });
    return withRank(disrupted, ended[disrupted]!);
  }
  const failed = ended.findIndex((o) => o?.reason === "Failed" && o.detail !== PEER_LOST);
  if (failed >= 0) return withRank(failed, failedRank(failed, ranks[failed], ended[failed]!));
  if (ended.every((o) => o !== undefined)) {
    const lost = ended.findIndex((o) => o?.reason === "Failed");
    if (lost >= 0) return withRank(lost, failedRank(lost, ranks[lost], ended[lost]!));
    return withRank(0, ended[0]!);
  }
  // Survivors that lost their peer wait for it: its own end (or its node's loss) decides.
  const lostRank = each.findIndex((a) => a !== undefined && a.ended === undefined && a.node.lost);
  const running = each.every((a) => a !== undefined && a.ended === undefined && a.running);
  if (lostRank < 0) return { running, node: { lost: false } };
  // Every other rank lost its peer: the gang is over whatever the lost node does, and a
  // rank there can never train alone (nor commit: rank 0's fence). No stuck-pod wait is needed.
  if (each.every((a) => a?.ended?.detail === PEER_LOST || (a !== undefined && a.ended === undefined && a.node.lost))) {
    return withRank(lostRank, { reason: "Preempted", detail: "NodeLost" });
  }
  const since = each.flatMap((a) => (a?.ended === undefined && a?.node.lost && a.node.since ? [a.node.since.getTime()] : []));
  return { running, node: since.length > 0 ? { lost: true, since: new Date(Math.min(...since)) } : { lost: true }, lostRank };
}

/** A failure told as the rank's: the record names rank 0's pod. */
function failedRank(rank: number, pod: V1Pod | undefined, outcome: Outcome): Outcome {
  const where = `rank ${rank} (pod ${pod?.metadata?.name ?? "?"}${pod?.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : ""})`;
  return { ...outcome, message: outcome.message === undefined ? where : `${where}: ${outcome.message}` };
}

/**
 * Every rank's address, published on every pod of the attempt once all are known: never a
 * partial list (a trainer waits for the full one). A pod that does not carry exactly this
 * value gets it, so a rank recreated with a new address would get the new list too.
 */
export function publishPeers(d: Draft, attempt: number, ranks: readonly (V1Pod | undefined)[]): void {
  if (!ranks.every((pod) => pod !== undefined && isAlive(pod) && !isTerminating(pod) && pod.status?.podIP)) return;
  const value = encodePeers({ attempt, addresses: ranks.map((pod) => pod!.status!.podIP!) });
  for (const pod of ranks as V1Pod[]) {
    const uid = pod.metadata?.uid;
    if (uid === undefined || pod.metadata?.annotations?.[PEERS_ANNOTATION] === value) continue;
    d.actions.push({ kind: "annotatePod", name: pod.metadata?.name ?? "", uid, annotation: PEERS_ANNOTATION, value, purpose: "publishing the gang's peers" });
  }
}

/**
 * All or nothing: a gang whose ranks are not all Running within scheduling.gangTimeoutSeconds
 * of its creation (of its admission, in a queue) ends as GangUnschedulable (its pods are deleted by the next pass, releasing
 * what they hold). Until then a requeue checks the bound without a watch event.
 */
export function checkFormation(d: Draft, record: AttemptRecord, ranks: readonly (V1Pod | undefined)[], spec: TrainingRunSpec): void {
  // In a queue the bound counts from Kueue's admission: a gang waiting behind the gate holds nothing.
  const created = toDate(record.admittedAt ?? record.createdAt);
  if (created === undefined) return;
  const deadline = created.getTime() + spec.scheduling.gangTimeoutSeconds * 1000;
  if (d.now.getTime() < deadline) {
    d.requeueIn(deadline - d.now.getTime());
    return;
  }
  const waiting = ranks.flatMap((pod, rank) => (pod?.status?.phase === "Running" ? [] : [`rank ${rank} ${whyNotRunning(pod)}`]));
  const message = `not every rank was running ${spec.scheduling.gangTimeoutSeconds}s after the gang was created (scheduling.gangTimeoutSeconds): ${waiting.join("; ")}`;
  endAttempt(d, record, { reason: "GangUnschedulable", detail: "GangTimeout", message }, spec);
}

/** The scheduler's reason (PodScheduled=False), else where the pod is. */
function whyNotRunning(pod: V1Pod | undefined): string {
  if (pod === undefined) return "has no pod yet";
  const unschedulable = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unschedulable !== undefined) return `was not placed: ${unschedulable.message ?? unschedulable.reason ?? "unschedulable"}`;
  const node = pod.spec?.nodeName;
  return node === undefined ? "was not placed yet" : `is ${pod.status?.phase ?? "Pending"} on node ${node}`;
}

/** The run's phase while a gang's attempt is under way: every rank running, or the first reason one is not. */
export function gangWaiting(ranks: readonly (V1Pod | undefined)[]): { running: true } | { running: false; reason: string; message: string } {
  if (ranks.every((pod) => pod?.status?.phase === "Running")) return { running: true };
  const rank = ranks.findIndex((pod) => pod?.status?.phase !== "Running");
  const unschedulable = ranks[rank]?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  const reason = unschedulable?.reason ?? "GangForming";
  return { running: false, reason, message: `the gang is forming: rank ${rank} ${whyNotRunning(ranks[rank])}` };
}
