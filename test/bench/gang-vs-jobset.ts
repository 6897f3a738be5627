/**
 * A resumable gang against a JobSet: the same N-rank data-parallel training (the reference
 * trainer in gang mode, the MLP) on the same local cluster, once as a TrainingRun with
 * `workers: N` and once as a JobSet that restarts on disruption (_gang-vs-jobset-systems.ts says
 * what each is and why), one after the other, each on a node pool of its own (one GPU per node,
 * so one rank per node), under the same seeded schedule: one rank's pod evicted at step X, then
 * one rank's node lost hard at step Y (the cloud then deletes the Node, as in the goodput bench).
 * Printed for each: seconds from each disruption to every rank training again and the steps
 * it lost, both from the trainers' own records, and the wall time to completion; then the
 * ratios resumable / JobSet.
 *   node --import tsx test/bench/gang-vs-jobset.ts
 * Knobs: GVJ_WORKERS (3), GVJ_STEPS (600), GVJ_STEP_DELAY_MS (60), GVJ_EVERY (100, the periodic
 * checkpoint interval both get), GVJ_SEED (random; printed), GVJ_MAX_SECONDS (900 per system).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { readTrainerRecords } from "../e2e/trainer-records.js";
import { startJobSet } from "../jobset/start.js";
import { cloudDeletesLostNode } from "./_goodput-faults.js";
import { nodesFor } from "./_goodput-systems.js";
import { gangSchedule, outcomeOf, ratio, trainingRate, wallSeconds, type GangAttempt, type Hit, type HitOutcome, type RankRecord, type ScheduledHit } from "./_gang-vs-jobset-report.js";
import { finished, GANG_SYSTEMS, gangPodOf, gangRun, jobSet, jobSetClaim, publishJobSetPeers, selectorOf, type GangPod, type GangSystem } from "./_gang-vs-jobset-systems.js";
import { table } from "./_util.js";

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const workers = num("GVJ_WORKERS", 3);
const totalSteps = num("GVJ_STEPS", 600);
const every = num("GVJ_EVERY", 100);
const seed = num("GVJ_SEED", Math.floor(Math.random() * 2 ** 31));
const maxSeconds = num("GVJ_MAX_SECONDS", 900);
const training = {
  model: "mlp", hiddenUnits: 64, dataset: "synthetic", syntheticExamples: 1024, totalSteps, batchSize: 32 * workers, seed: 7,
  backend: "cpu", stepDelayMs: num("GVJ_STEP_DELAY_MS", 60), checkpoint: { everySteps: every, everySeconds: 0, keep: 3 },
};
// GVJ_SYSTEMS=jobset (or resumable): one side only, to look into it; the ratios need both.
const systems = (process.env.GVJ_SYSTEMS?.split(",") ?? GANG_SYSTEMS) as GangSystem[];
const schedule = gangSchedule(seed, totalSteps, workers);
console.log(`gang-vs-jobset: ${workers} ranks, ${totalSteps} steps, checkpoint every ${every}, seed ${seed} (GVJ_SEED reproduces it); schedule ${JSON.stringify(schedule)}`);

interface SystemRun { system: GangSystem; outcomes: HitOutcome[]; wall?: number; rate?: number; ended: string }

const log = (l: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${l}`);

/** Every rank of every attempt the kubelet ran for the pods the driver saw, from their logs. */
function recordsOf(e: E2E, seen: Map<string, GangPod>): GangAttempt[] {
  const byAttempt = new Map<number, RankRecord[]>();
  for (const p of seen.values()) {
    const { lines, resumedFromStep, reachedStep, summary } = readTrainerRecords(join(e.cluster.stateDir, "kubelet", "logs", `${NAMESPACE}_${p.name}_${p.uid}`, "trainer"));
    const timed = lines.filter((l) => typeof l.time === "number");
    if (timed.length === 0) continue;
    const stepLines = lines.filter((l) => l.msg === "step" && typeof l.step === "number");
    const firstStep = stepLines[0];
    // What a rank that never trained said last: why a gang did not form is in its own log.
    if (!firstStep && p.rank === 0) log(`${p.name}: no step; it said last: ${timed.slice(-2).map((l) => `${String(l.msg)} ${String((l.err as { message?: string } | undefined)?.message ?? "")}`).join("; ")}`);
    const ranks = byAttempt.get(p.attempt) ?? [];
    ranks.push({
      rank: p.rank, lastAt: timed.at(-1)!.time as number, resumedFrom: resumedFromStep, reached: reachedStep, completed: summary?.reason === "completed",
      ...(firstStep && { firstStepAt: firstStep.time as number, lastStepAt: stepLines.at(-1)!.time as number }),
    });
    byAttempt.set(p.attempt, ranks);
  }
  return [...byAttempt].map(([attempt, ranks]) => ({ attempt, ranks }));
}

async function runSystem(e: E2E, system: GangSystem): Promise<SystemRun> {
  const seen = new Map<string, GangPod>();
  const background: Promise<unknown>[] = [];
  const startedAt = Date.now();
  if (system === "resumable") await e.kubectl(["apply", "-f", "-"], JSON.stringify(gangRun(workers, training)));
  else {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(jobSetClaim()));
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(jobSet(workers, training)));
  }
  const hits: Hit[] = [];
  let next = 0;
  let ended: string | undefined;
  while (!ended) {
    if ((Date.now() - startedAt) / 1000 > maxSeconds) { ended = `given up after ${maxSeconds} s`; break; }
    const pods = (await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: selectorOf(system) })).items
      .flatMap((p) => { const g = gangPodOf(system, p); return g ? [g] : []; });
    for (const p of pods) seen.set(p.uid, p);
    if (system === "jobset" && await publishJobSetPeers(e, pods, workers)) log(`jobset: peers published for attempt ${Math.max(...pods.map((p) => p.attempt))}`);
    const due = schedule[next];
    if (due) {
      const hit = await maybeHit(e, system, due, pods, background);
      if (hit) { hits.push(hit); next++; }
    }
    ended = await finished(e, system).catch(() => undefined);
    await sleep(250);
  }
  await Promise.allSettled(background);
  const attempts = recordsOf(e, seen);
  const wall = wallSeconds(attempts, startedAt, workers);
  const rate = trainingRate(attempts);
  log(`${system}: ${ended}; attempts ${JSON.stringify(attempts.map((a) => ({ attempt: a.attempt, ranks: a.ranks.map((r) => `${r.rank}:${r.resumedFrom}->${r.reached}`) })))}`);
  return { system, outcomes: hits.map((h) => outcomeOf(h, attempts, workers)), ended, ...(wall !== undefined && { wall }), ...(rate !== undefined && { rate }) };
}

/** Plays `due` once the newest attempt's rank 0 has computed `atStep` (its own records) and the rank to hit is live. */
async function maybeHit(e: E2E, system: GangSystem, due: ScheduledHit, pods: GangPod[], background: Promise<unknown>[]): Promise<Hit | undefined> {
  const attempt = Math.max(0, ...pods.map((p) => p.attempt));
  const rank0 = pods.find((p) => p.attempt === attempt && p.rank === 0 && p.live);
  const victim = pods.find((p) => p.attempt === attempt && p.rank === due.rank && p.live && p.node);
  if (!rank0 || !victim) return undefined;
  const { reachedStep } = readTrainerRecords(join(e.cluster.stateDir, "kubelet", "logs", `${NAMESPACE}_${rank0.name}_${rank0.uid}`, "trainer"));
  if (reachedStep < due.atStep) return undefined;
  const at = Date.now();
  if (due.kind === "evict") {
    await e.core.createNamespacedPodEviction({
      name: victim.name, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: victim.name, namespace: NAMESPACE } },
    });
  } else {
    await e.kubectl(["annotate", "node", victim.node!, "resumable.dev/fault=hard-loss"]);
    background.push(cloudDeletesLostNode(e, victim.node!, log).catch((err: Error) => log(`cloud: deleting ${victim.node} failed: ${err.message}`)));
  }
  log(`${system}: ${due.kind} of rank ${due.rank} (${victim.name} on ${victim.node}) at step ${reachedStep} of attempt ${attempt}`);
  return { ...due, at, attempt };
}

const nodesFile = join(tmpdir(), `gvj-nodes-${process.pid}.json`);
// A rank per node (one GPU each): a spare for the node the hard loss takes, one more for slack.
writeFileSync(nodesFile, JSON.stringify(nodesFor(GANG_SYSTEMS, workers + 2)));
const e = await startE2E({ nodesFile });
const results: SystemRun[] = [];
try {
  await startJobSet(e.cluster);
  for (const system of systems) results.push(await runSystem(e, system));
} finally {
  await e.stop();
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? "n/a" : x.toFixed(digits));
console.log(`\ngang of ${workers} against JobSet v0.12.0 (${new Date().toISOString().slice(0, 10)}, seed ${seed})`);
console.log(table(["system", "disruption", "at step", "rank", "to all ranks training, s", "lost steps"],
  results.flatMap((r) => r.outcomes.map((o) => [r.system, o.kind, o.atStep, o.rank, fmt(o.recoverySeconds), o.lostSteps ?? "n/a"]))));
console.log(table(["system", "ended", "wall time to completion, s", "steps/s while training (rank 0)"], results.map((r) => [r.system, r.ended, fmt(r.wall), fmt(r.rate, 2)])));
const [ours, theirs] = [results.find((r) => r.system === "resumable"), results.find((r) => r.system === "jobset")];
console.log(`\nratios resumable / JobSet (below 1: resumable better)`);
console.log(table(["measure", "ratio"], [
  ...schedule.map((h, i) => [`${h.kind}: to all ranks training`, ratio(ours?.outcomes[i]?.recoverySeconds, theirs?.outcomes[i]?.recoverySeconds)]),
  ...schedule.map((h, i) => [`${h.kind}: lost steps`, ratio(ours?.outcomes[i]?.lostSteps, theirs?.outcomes[i]?.lostSteps)]),
  ["wall time to completion", ratio(ours?.wall, theirs?.wall)],
  ["steps/s while training (the machine, not the disruptions)", ratio(ours?.rate, theirs?.rate)],
]));
