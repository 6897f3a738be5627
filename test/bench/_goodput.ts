// The goodput comparison (test/bench/goodput.ts runs it at size, test/bench-smoke/ small):
// one workload trained four ways on one local cluster, at the same time, under one seeded
// disruption schedule, each system on a node pool of its own so a node loss hits one system.
// The systems are in _goodput-systems.ts (resumable, a Job with the trainer's SIGTERM flush,
// a Job with periodic checkpoints only, a Job without checkpoints), the disruptions in
// _goodput-faults.ts (graceful node shutdowns, evictions, hard node losses), and everything
// counted comes from the trainers' own records (_goodput-records.ts); the operator's own
// resumable_goodput_ratio is read from its /metrics only to be printed beside it.
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { trainingRun } from "../e2e/runs.js";
import { twinWeightsSha256 } from "../e2e/twin.js";
import { disrupt, preemptionSchedule, type Disruption, type DisruptionKind, type DisruptionShares } from "./_goodput-faults.js";
import { attemptsOf, summarise, type SystemResult } from "./_goodput-records.js";
import { checkpointEvery, GRACE_SECONDS, jobFor, nodesFor, OBJECT, POOL_LABEL, pvcFor, SYSTEMS, trainerEnv, trainingConfig, type CheckpointChoice, type System } from "./_goodput-systems.js";

export { SYSTEMS, type System } from "./_goodput-systems.js";
export type { SystemResult } from "./_goodput-records.js";

export interface GoodputOptions extends CheckpointChoice {
  /** Mean seconds between disruptions (exponential inter-arrival). */
  meanIntervalSeconds: number;
  seed: number;
  /** Spot nodes per system; a reclaim or hard loss uses one up (the Node is deleted), then evictions only. */
  nodesPerSystem: number;
  /** Shares of disruptions that are graceful node shutdowns and hard node losses (the rest are evictions). */
  shares: DisruptionShares;
  /** A system still running after this many seconds is given up (it may never finish under short T). */
  maxSeconds: number;
  /** Stop the schedule after this many disruptions (a smoke needs a finite one); default: none. */
  maxDisruptions?: number;
  systems?: readonly System[];
  log?: (line: string) => void;
}

export interface GoodputResult {
  systems: SystemResult[];
  twinSha256: string;
  /** What the operator's resumable_goodput_ratio said for the TrainingRun, last read. */
  operatorGoodput?: number;
  schedule: { at: number; kind: DisruptionKind }[];
}

export async function runGoodput(opts: GoodputOptions): Promise<GoodputResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const systems = opts.systems ?? SYSTEMS;
  const schedule = preemptionSchedule(opts.seed, opts.meanIntervalSeconds, opts.maxSeconds, opts.shares).slice(0, opts.maxDisruptions);
  const nodesFile = join((await import("node:os")).tmpdir(), `goodput-nodes-${process.pid}.json`);
  writeFileSync(nodesFile, JSON.stringify(nodesFor(systems, opts.nodesPerSystem)));
  const e = await startE2E({ nodesFile });
  try {
    // The uninterrupted twin trains beside the systems, under the same load (only when there is
    // a resumable run to compare with it).
    const twin = systems.includes("resumable") ? twinWeightsSha256(trainingConfig("resumable", opts)) : Promise.resolve("");
    twin.catch(() => undefined);
    const started = Date.now();
    for (const system of systems) {
      const training = trainingConfig(system, opts);
      if (system === "resumable") {
        await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(OBJECT.resumable, {
          training,
          env: [...trainerEnv, { name: "RESUMABLE_PROGRESS_SECONDS", value: "2" }],
          scheduling: { spot: true, nodeSelector: { [POOL_LABEL]: system } },
          resources: { limits: { "nvidia.com/gpu": "1" }, requests: { "nvidia.com/gpu": "1" } },
          preemption: { gracePeriodSeconds: GRACE_SECONDS },
        } as never)));
      } else {
        if (system !== "job-none") await e.kubectl(["apply", "-f", "-"], JSON.stringify(pvcFor(system)));
        await e.kubectl(["apply", "-f", "-"], JSON.stringify(jobFor(system, training)));
      }
    }
    const done = new Map<System, number>();
    const disruptions = new Map<System, Disruption[]>(systems.map((s) => [s, []]));
    let operatorGoodput: number | undefined;
    let next = 0;
    const operatorPort = metricsPort(e.operatorLog);
    let lastMetrics = 0;
    const background: Promise<unknown>[] = [];
    while (done.size < systems.length) {
      const elapsed = (Date.now() - started) / 1000;
      for (const s of systems) {
        if (!done.has(s) && (await finished(e, s))) {
          done.set(s, Date.now());
          log(`${s}: finished after ${elapsed.toFixed(0)} s`);
        }
      }
      if (elapsed > opts.maxSeconds) {
        for (const s of systems) if (!done.has(s)) { done.set(s, Date.now()); log(`${s}: given up after ${opts.maxSeconds} s`); }
        break;
      }
      if (Date.now() - lastMetrics > 3000 && !done.has("resumable")) {
        lastMetrics = Date.now();
        operatorGoodput = (await operatorRatio(await operatorPort, OBJECT.resumable)) ?? operatorGoodput;
      }
      while (next < schedule.length && schedule[next]!.at <= elapsed) {
        const ev = schedule[next++]!;
        for (const s of systems) {
          if (done.has(s)) continue;
          const d = await disrupt(e, s, ev.kind, log, background).catch((err: Error) => { log(`${s}: ${ev.kind} failed: ${err.message}`); return undefined; });
          if (d) disruptions.get(s)!.push(d);
        }
      }
      await sleep(500);
    }
    const twinSha256 = await twin;
    await Promise.allSettled(background);
    const totalSteps = Number(opts.training.totalSteps);
    const results = systems.map((s) => summarise(s, attemptsOf(e.cluster.stateDir, OBJECT[s]), { started, ended: done.get(s)!, totalSteps, everySteps: checkpointEvery(s, opts) }, disruptions.get(s)!));
    return { systems: results, twinSha256, ...(operatorGoodput !== undefined && { operatorGoodput }), schedule };
  } finally {
    await e.stop();
  }
}

async function finished(e: E2E, system: System): Promise<boolean> {
  if (system === "resumable") return (await e.getRun(OBJECT.resumable)).status?.phase === "Succeeded";
  const job = JSON.parse(await e.kubectl(["get", "job", OBJECT[system], "-n", NAMESPACE, "-o", "json"])) as { status?: { conditions?: { type: string; status: string }[] } };
  return (job.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

async function metricsPort(operatorLog: string): Promise<number | undefined> {
  for (let i = 0; i < 120; i++) {
    const text = existsSync(operatorLog) ? readFileSync(operatorLog, "utf8") : "";
    const m = /"metricsPort":(\d+)/.exec(text);
    if (m) return Number(m[1]);
    await sleep(500);
  }
  return undefined;
}

async function operatorRatio(port: number | undefined, run: string): Promise<number | undefined> {
  if (port === undefined) return undefined;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("resumable_goodput_ratio{") && l.includes(`"${run}"`));
    return line ? Number(line.split(" ").at(-1)) : undefined;
  } catch {
    return undefined;
  }
}
