// The scale benchmark's gang mode (test/bench/scale.ts): G TrainingRuns of `workers: W` ranks on
// KWOK nodes with the real operator, then a reclaim wave, as the single-pod mode does
// (_scale-fleet.ts plays the fleet). KWOK pods run no trainer, so "training" here is what the
// operator owes a gang before its trainers can start: every rank of the attempt Running and
// the peers annotation (every rank's address) on each of them. A real trainer then forms the
// gang over TCP, which no operator work speeds up (docs/benchmarks.md says so).
import { setTimeout as sleep } from "node:timers/promises";
import { PEERS_ANNOTATION } from "@resumable/protocol";
import { applyRuns, reclaimWave, SA, startFleet, waitFor } from "./_scale-fleet.js";
import { apiserverCounters, histogramQuantiles, operatorMetrics, operatorWrites, processUsage, quantiles, type Quantiles, type Writes } from "./_scale-measure.js";

export interface GangScaleOptions {
  gangs: number;
  workers: number;
  nodes: number;
  /** Share of nodes reclaimed in the wave. */
  reclaimShare: number;
  /** scheduling.gangTimeoutSeconds of every run: the bound on a partial placement. */
  gangTimeoutSeconds: number;
  seed: number;
  log?: (l: string) => void;
}

export interface GangScaleResult {
  /** Apply → every rank of the gang's first attempt that formed Running with its peers, per gang. */
  formed: Quantiles;
  /** Gangs whose first attempt did not form within the gang bound (torn down, formed on a later one). */
  formedLate: string[];
  wave: {
    nodes: number; pods: number; affectedGangs: number;
    /** Wave → every rank of the gang's next attempt Running with its peers, per affected gang. */
    trainingAgain: Quantiles;
    /**
     * Where the time to training again goes, wave → each step for the gang's next attempt: the
     * operator deleting the survivors of the hit attempt, its first new pod seen, every new pod
     * Running (the scheduler and KWOK), the peers on every rank (the operator again).
     */
    stages: { survivorsDeleted: Quantiles; nextCreated: Quantiles; allRunning: Quantiles; peersPublished: Quantiles };
    /** Affected gangs with no attempt training again by the end of the wait. */
    missed: string[];
    reconcileHistogram: Quantiles; operatorWrites: Writes; operatorRequestsPerSecond: number; seconds: number;
  };
  /** The longest a gang's attempt held some ranks placed while not all were Running, and which. */
  longestPartial: { seconds: number; attempt?: string; overBound: string[] };
  /** The operator's largest RSS, sampled every 2 s from the apply to the end. */
  rssMb: number;
}

/** One rank's pod as the watch saw it: when bound to a node, Running, given its peers, gone. */
interface RankSeen { run: string; attempt: number; rank: number; addedAt: number; boundAt?: number; runningAt?: number; peersAt?: number; endedAt?: number }

const key = (run: string, attempt: number) => `${run}/${attempt}`;

export async function runGangScale(opts: GangScaleOptions): Promise<GangScaleResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const fleet = await startFleet(opts.nodes, log);
  const { e, operator, port } = fleet;
  let sampling = true;
  let rssMb = 0;
  const sampler = (async () => {
    while (sampling) {
      rssMb = Math.max(rssMb, processUsage(operator.pid!).rssMb);
      await sleep(2000);
    }
  })();
  try {
    const seen = new Map<string, RankSeen>();
    await fleet.watchPods((type, pod) => {
      const name = pod.metadata!.name!;
      const run = pod.metadata!.labels!["resumable.dev/run"]!;
      const m = /-(\d+)-(\d+)$/.exec(name);
      if (!m) return;
      const now = Date.now();
      const r = seen.get(name) ?? { run, attempt: Number(m[1]), rank: Number(m[2]), addedAt: now };
      if (pod.spec?.nodeName && r.boundAt === undefined) r.boundAt = now;
      if (pod.status?.phase === "Running" && r.runningAt === undefined) r.runningAt = now;
      if (pod.metadata?.annotations?.[PEERS_ANNOTATION] && r.peersAt === undefined) r.peersAt = now;
      const ended = type === "DELETED" || pod.metadata?.deletionTimestamp || pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
      if (ended && r.endedAt === undefined) r.endedAt = now;
      seen.set(name, r);
    });
    const attemptsOf = () => {
      const by = new Map<string, RankSeen[]>();
      for (const r of seen.values()) by.set(key(r.run, r.attempt), [...(by.get(key(r.run, r.attempt)) ?? []), r]);
      return by;
    };
    /** When every rank of the attempt was Running with its peers; undefined while not. */
    const trainingAt = (ranks: RankSeen[] | undefined) =>
      ranks && ranks.length === opts.workers && ranks.every((r) => r.runningAt !== undefined && r.peersAt !== undefined)
        ? Math.max(...ranks.map((r) => Math.max(r.runningAt!, r.peersAt!))) : undefined;

    const runs = Array.from({ length: opts.gangs }, (_, i) => `gang-${String(i).padStart(3, "0")}`);
    const appliedAt = Date.now();
    await applyRuns(e, runs, { workers: opts.workers, scheduling: { spot: true, gangTimeoutSeconds: opts.gangTimeoutSeconds } });
    log(`applied ${runs.length} gangs of ${opts.workers} in ${((Date.now() - appliedAt) / 1000).toFixed(1)} s`);
    // The first attempt that trained: under load an attempt may not form within the gang bound,
    // be torn down by the operator, and the next one form instead.
    const trainedAttempts = (run: string) => [...attemptsOf().entries()].filter(([k]) => k.startsWith(`${run}/`))
      .flatMap(([k, ranks]) => { const t = trainingAt(ranks); return t === undefined ? [] : [{ attempt: Number(k.slice(run.length + 1)), at: t }]; });
    const firstTraining = (run: string) => trainedAttempts(run).sort((a, b) => a.attempt - b.attempt)[0];
    await waitFor("every gang training", async () => runs.every((r) => firstTraining(r) !== undefined), 20 * 60_000);
    const formed = quantiles(runs.map((r) => (firstTraining(r)!.at - appliedAt) / 1000));
    const formedLate = runs.filter((r) => firstTraining(r)!.attempt > 1);
    log(`formed: ${JSON.stringify(formed)}; not on the first attempt: ${formedLate.join(", ") || "none"}`);

    const beforeWave = await operatorMetrics(port);
    const countersBefore = await apiserverCounters(e, SA);
    const { reclaimed, victims, affected, waveAt } = await reclaimWave(e, fleet.nodes, opts.reclaimShare, opts.seed, log);
    // The attempt each affected gang was on; its next one is any later attempt that trains.
    const hitAttempt = new Map(victims.map((v) => [v.run, Number(/-(\d+)-\d+$/.exec(v.name)![1])]));
    const againAt = (run: string) => {
      const by = attemptsOf();
      const later = [...by.entries()].filter(([k]) => k.startsWith(`${run}/`) && Number(k.slice(run.length + 1)) > hitAttempt.get(run)!);
      const times = later.flatMap(([, ranks]) => { const t = trainingAt(ranks); return t === undefined ? [] : [t]; });
      return times.length > 0 ? Math.min(...times) : undefined;
    };
    await waitFor("every affected gang training again", async () => [...affected].every((r) => againAt(r) !== undefined), 10 * 60_000)
      .catch((err: Error) => log(err.message));
    const waveSeconds = (Date.now() - waveAt) / 1000;
    const afterWave = await operatorMetrics(port);
    const countersAfter = await apiserverCounters(e, SA);
    const trainingAgain = quantiles([...affected].flatMap((r) => { const t = againAt(r); return t === undefined ? [] : [(t - waveAt) / 1000]; }));
    const victimNames = new Set(victims.map((v) => v.name));
    const stage = (pick: (hit: RankSeen[], next: RankSeen[]) => number | undefined) => quantiles([...affected].flatMap((run) => {
      const by = attemptsOf();
      const t = pick(by.get(key(run, hitAttempt.get(run)!)) ?? [], by.get(key(run, hitAttempt.get(run)! + 1)) ?? []);
      return t === undefined || !Number.isFinite(t) ? [] : [(t - waveAt) / 1000];
    }));
    const stages = {
      survivorsDeleted: stage((hit) => Math.max(...hit.filter((r) => !victimNames.has(`${r.run}-${r.attempt}-${r.rank}`)).map((r) => r.endedAt ?? NaN))),
      nextCreated: stage((_, next) => Math.min(...next.map((r) => r.addedAt))),
      allRunning: stage((_, next) => (next.length === opts.workers ? Math.max(...next.map((r) => r.runningAt ?? NaN)) : undefined)),
      peersPublished: stage((_, next) => (next.length === opts.workers ? Math.max(...next.map((r) => r.peersAt ?? NaN)) : undefined)),
    };

    // A partial placement: from the first rank bound to every rank Running (forming), and from
    // the first rank ended to the last one gone (tearing down); an attempt that never formed is
    // partial from its first bound rank to its last one gone.
    const now = Date.now();
    let longest = { seconds: 0, attempt: undefined as string | undefined };
    const overBound: string[] = [];
    for (const [k, ranks] of attemptsOf()) {
      const bound = ranks.flatMap((r) => (r.boundAt === undefined ? [] : [r.boundAt]));
      if (bound.length === 0) continue;
      const allRunning = ranks.length === opts.workers && ranks.every((r) => r.runningAt !== undefined) ? Math.max(...ranks.map((r) => r.runningAt!)) : undefined;
      const ended = ranks.flatMap((r) => (r.endedAt === undefined ? [] : [r.endedAt]));
      const lastGone = ended.length === ranks.length ? Math.max(...ended) : now;
      const forming = ((allRunning ?? lastGone) - Math.min(...bound)) / 1000;
      const tearing = allRunning !== undefined && ended.length > 0 ? (lastGone - Math.min(...ended)) / 1000 : 0;
      const partial = Math.max(forming, tearing);
      if (partial > longest.seconds) longest = { seconds: partial, attempt: k };
      if (partial > opts.gangTimeoutSeconds) overBound.push(`${k} (${partial.toFixed(1)} s)`);
    }
    log(`wave: ${reclaimed.size} nodes, ${victims.length} pods of ${affected.size} gangs; training again ${JSON.stringify(trainingAgain)}; longest partial ${JSON.stringify(longest)}`);
    return {
      formed,
      formedLate,
      wave: {
        nodes: reclaimed.size, pods: victims.length, affectedGangs: affected.size, trainingAgain, stages,
        missed: [...affected].filter((r) => againAt(r) === undefined),
        reconcileHistogram: histogramQuantiles(afterWave, "resumable_reconcile_duration_seconds", [], beforeWave),
        operatorWrites: operatorWrites(afterWave, beforeWave),
        operatorRequestsPerSecond: (countersAfter.operator - countersBefore.operator) / waveSeconds,
        seconds: waveSeconds,
      },
      longestPartial: { ...longest, overBound },
      rssMb,
    };
  } finally {
    sampling = false;
    await sampler;
    await fleet.stop();
  }
}
