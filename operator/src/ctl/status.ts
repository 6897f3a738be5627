// `resumable status <run>`: where a run stands and how it got there — one
// line per attempt, with why it ended, what it lost and how long it took to
// start after its predecessor's pod was gone (RESTART). The recovery metric
// starts earlier, at the disruption, so it includes the final flush. CAPACITY
// is where each attempt ran and, for a move, why; a planned move ends "Moved". A
// gang's (spec.workers > 1) newest attempt lists its ranks, and which was disrupted.
import { lostSteps } from "@resumable/protocol";
import type { AttemptRecord, TrainingRunStatus } from "../api/status.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { liveAccounting } from "../model/accounting.js";
import { PRIORITY_CLASS_LABEL, queueOf } from "../model/kueue.js";
import { checkpointStorage } from "../model/observe.js";
import { getRun, type Clients } from "./client.js";
import { duration, secondsBetween, table } from "./table.js";

export async function status(c: Clients, name: string): Promise<string> {
  return describe(await getRun(c, name));
}

export function describe(run: TrainingRun): string {
  const s = run.status ?? {};
  const p = s.progress;
  const ckpt = s.lastCheckpoint;
  const lines = [
    `Name:         ${run.metadata.namespace}/${run.metadata.name}`,
    `Phase:        ${s.phase ?? "Pending"}`,
    `Progress:     ${p ? `step ${p.step}/${p.totalSteps ?? "?"}, loss ${p.loss ?? "?"}` : "-"}`,
    `Checkpoint:   ${ckpt ? `step ${ckpt.step} (${ckpt.reason ?? "?"}) at ${ckpt.time ?? "?"}, ${ckpt.bytes ?? "?"} bytes${ckpt.path ? `, ${ckpt.path}` : ""}` : "-"}`,
    `Storage:      ${checkpointStorage(run)}`,
    `Attempts:     ${s.attempt ?? 0} (preemptions ${s.preemptions ?? 0}, failures ${s.failures ?? 0})`,
    `Lost steps:   ${s.lostSteps ?? 0}`,
  ];
  const queue = queueOf(run);
  if (queue !== undefined) lines.push(queueLine(queue, run.metadata.labels?.[PRIORITY_CLASS_LABEL], s));
  if (s.capacity) {
    const c = s.capacity;
    const pending = c.returnRequestedAt ? `; back to spot at the first checkpoint after ${c.returnRequestedAt}` : "";
    lines.push(`Capacity:     ${c.type} since ${c.since ?? "?"} (${c.reason}${c.message ? `: ${c.message}` : ""}), moves ${c.moves ?? 0}${pending}`);
  }
  lines.push(...accountingLines(s));
  if (s.nextAttemptAt) lines.push(`Next attempt: ${s.nextAttemptAt}`);
  if (s.result) lines.push(`Result:       ${s.result.reason} at step ${s.result.step ?? "?"}, weights sha256 ${s.result.weightsSha256 ?? "?"}`);
  for (const cond of s.conditions ?? []) {
    lines.push(`Condition:    ${cond.type}=${cond.status} ${cond.reason}: ${cond.message}`);
  }
  const attempts = s.attempts ?? [];
  if (attempts.length > 0) lines.push("", timeline(attempts));
  const newest = attempts.at(-1);
  if (newest?.ranks !== undefined) lines.push("", `Ranks of attempt ${newest.attempt}:`, ranks(newest));
  return lines.join("\n");
}

/** The run's Kueue queue, its quota preemptions, and what a preemption would lose now. */
function queueLine(queue: string, priority: string | undefined, s: TrainingRunStatus): string {
  const cost = s.preemptionCost;
  const since = cost?.checkpointStep === undefined ? "since the start" : `since the checkpoint of step ${cost.checkpointStep}`;
  const risk = cost === undefined ? "" : `; at risk ${cost.stepsAtRisk} steps${cost.secondsAtRisk === undefined ? "" : ` (${duration(cost.secondsAtRisk)})`} ${since}`;
  return `Queue:        ${queue}${priority ? ` (priority ${priority})` : ""}, quota preemptions ${s.quotaPreemptions ?? 0}${risk}`;
}

/**
 * GPU time with the running attempt up to now; the cost as the operator priced the ended
 * attempts (only the operator has the price table).
 */
function accountingLines(s: TrainingRunStatus): string[] {
  if (!s.accounting) return [];
  const live = liveAccounting(s, {}, new Date());
  const perHour = live.preemptionsPerSpotHour === undefined ? "" : `, ${live.preemptionsPerSpotHour.toFixed(2)} preemptions/spot hour`;
  const lines = [
    `GPU time:     spot ${duration(live.spotGpuSeconds)}, on-demand ${duration(live.onDemandGpuSeconds)}, lost ${duration(live.lostGpuSeconds)}${perHour}`,
  ];
  const a = s.accounting;
  if (a.estimatedCost !== undefined) {
    const money = (x: number | undefined) => `${(x ?? 0).toFixed(4)}${a.currency ? ` ${a.currency}` : ""}`;
    lines.push(`Cost:         ${money(a.estimatedCost)} (spot ${money(a.spotCost)}, on-demand ${money(a.onDemandCost)}); all on-demand ${money(a.allOnDemandCost)}, saving ${money(a.saving)} (ended attempts)`);
  }
  return lines;
}

function capacityOf(a: AttemptRecord): string {
  if (!a.capacityType) return "-";
  return a.capacityReason && a.capacityReason !== "Spec" ? `${a.capacityType} (${a.capacityReason})` : a.capacityType;
}

function timeline(attempts: readonly AttemptRecord[]): string {
  // The protocol's rule, as status.lostSteps and resumable_lost_steps_total count them.
  const lost = lostSteps(attempts).perAttempt;
  const rows = attempts.map((a, i) => {
    const prev = i > 0 ? attempts[i - 1] : undefined;
    return [
      String(a.attempt),
      a.pod,
      a.node ?? "-",
      capacityOf(a),
      a.startTime ?? "-",
      duration(secondsBetween(a.startTime, a.endTime)),
      a.endReason ? `${a.endReason}${a.endDetail ? ` (${a.endDetail})` : ""}${disrupted(a)}` : "running",
      a.exitCode === undefined ? "-" : String(a.exitCode),
      a.resumedFromStep === undefined ? "-" : String(a.resumedFromStep),
      a.reachedStep === undefined ? "-" : String(a.reachedStep),
      lost[i] === undefined ? "-" : String(lost[i]),
      duration(secondsBetween(prev?.endTime, a.startTime)),
    ];
  });
  return table(["ATTEMPT", "POD", "NODE", "CAPACITY", "STARTED", "RAN", "ENDED", "EXIT", "RESUMED FROM", "REACHED", "LOST", "RESTART"], rows);
}

/** The rank whose disruption ended a gang's attempt, and its node. */
function disrupted(a: AttemptRecord): string {
  if (a.disruptedRank === undefined) return "";
  const node = a.ranks?.[a.disruptedRank]?.node;
  return `, rank ${a.disruptedRank}${node === undefined ? "" : ` on ${node}`}`;
}

/** A gang's pods by rank, and which one's disruption ended the attempt. */
function ranks(a: AttemptRecord): string {
  const rows = (a.ranks ?? []).map((r) => [String(r.rank), r.pod, r.node ?? "-", r.rank === a.disruptedRank ? "disrupted" : ""]);
  return table(["RANK", "POD", "NODE", ""], rows);
}
