// Recovery on the local cluster: from the SIGTERM an eviction sends to the
// next attempt's first training step, split into the stages a user waits on.
// Timestamps come from where each stage ends: the trainer's own log lines
// (pino `time`, ms) for SIGTERM, flush, start, checkpoint load and first step,
// and this process's pod watch for the old pod turning terminal and the next
// one appearing — so "operator reaction" is watch to watch, the operator's
// whole share of the gap. One machine, one clock.
//
//   node --import tsx test/bench/recovery.ts    # BENCH_PREEMPTIONS (default 5)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, startE2E } from "../e2e/harness.js";
import { SMALL_TRAINING, trainingRun } from "../e2e/runs.js";
import { median, table } from "./_util.js";

const PREEMPTIONS = Number(process.env.BENCH_PREEMPTIONS ?? 5);
const RUN = "recovery";
const GOALS = { reactionMs: 200, totalMs: 5000 };

interface Recovery {
  evictToSigterm: number;
  flush: number;
  podTermination: number;
  operatorReaction: number;
  podStart: number;
  checkpointLoad: number;
  firstStep: number;
  total: number;
}

const e = await startE2E();
try {
  const seen = watchPods(e.cluster.kubeconfig);
  // Never finishes on its own: the benchmark preempts it, then deletes it.
  await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(RUN, {
    training: { ...SMALL_TRAINING, totalSteps: 10_000_000 },
    preemption: { gracePeriodSeconds: 25 },
  })));
  const recoveries: Recovery[] = [];
  for (let attempt = 1; attempt <= PREEMPTIONS; attempt++) {
    await trainerLine(e.cluster.stateDir, attempt, "first step of this attempt", 5 * 60_000);
    await new Promise((r) => setTimeout(r, 2000)); // a little training, as a real preemption would find
    const pod = `${RUN}-${attempt}`;
    const evictedAt = Date.now();
    await e.core.createNamespacedPodEviction({
      name: pod, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NAMESPACE } },
    });
    const firstStep = await trainerLine(e.cluster.stateDir, attempt + 1, "first step of this attempt", 5 * 60_000);
    const old = trainerLog(e.cluster.stateDir, attempt);
    const next = trainerLog(e.cluster.stateDir, attempt + 1);
    const sigterm = timeOf(old, "signal received: stopping at the next step boundary");
    const flushed = Math.max(...old.map((l) => l.time ?? 0));
    const terminal = seen.terminal.get(pod)!;
    const created = seen.added.get(`${RUN}-${attempt + 1}`)!;
    const up = next[0]!.time!;
    const loaded = timeOf(next, "resuming from checkpoint");
    recoveries.push({
      evictToSigterm: sigterm - evictedAt,
      flush: flushed - sigterm,
      podTermination: terminal - flushed,
      operatorReaction: created - terminal,
      podStart: up - created,
      checkpointLoad: loaded - up,
      firstStep: firstStep - loaded,
      total: firstStep - sigterm,
    });
    console.log(`preemption ${attempt}: ${JSON.stringify(recoveries.at(-1))}`);
  }
  report(recoveries);
  await seen.stop();
  await e.kubectl(["delete", "tr", RUN, "-n", NAMESPACE, "--wait=true", "--timeout=120s"]);
} finally {
  await e.stop();
}

function report(rs: Recovery[]): void {
  const stages: [keyof Recovery, string][] = [
    ["evictToSigterm", "(eviction call → SIGTERM, not in the total)"],
    ["flush", "trainer flush: SIGTERM → final checkpoint committed"],
    ["podTermination", "pod termination: → old pod seen terminal"],
    ["operatorReaction", "operator reaction: → next pod created"],
    ["podStart", "pod start: → trainer process logging"],
    ["checkpointLoad", "checkpoint load: → checkpoint restored"],
    ["firstStep", "first step: → first training step done"],
    ["total", "total: SIGTERM → first training step"],
  ];
  const row = (k: keyof Recovery, what: string) => {
    const xs = rs.map((r) => r[k]);
    return [what, median(xs), Math.min(...xs), Math.max(...xs)];
  };
  console.log(`\nRecovery over ${rs.length} evictions (ms)\n`);
  console.log(table(["stage", "p50", "min", "max"], stages.map(([k, what]) => row(k, what))));
  const reaction = median(rs.map((r) => r.operatorReaction));
  const total = median(rs.map((r) => r.total));
  console.log(`\n${table(["goal", "measured p50", "goal", "ratio (≤ 1 meets it)"], [
    ["operator reaction", `${reaction} ms`, `${GOALS.reactionMs} ms`, reaction / GOALS.reactionMs],
    ["whole recovery", `${total} ms`, `${GOALS.totalMs} ms`, total / GOALS.totalMs],
  ])}`);
}

/** When this process first saw each pod created, and first saw it terminal (Failed/Succeeded or deleted). */
function watchPods(kubeconfig: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const added = new Map<string, number>();
  const terminal = new Map<string, number>();
  const watching = new Watch(kc).watch(`/api/v1/namespaces/${NAMESPACE}/pods`, { labelSelector: `resumable.dev/run=${RUN}` },
    (type: string, pod: V1Pod) => {
      const now = Date.now();
      const name = pod.metadata!.name!;
      if (!added.has(name)) added.set(name, now);
      const phase = pod.status?.phase;
      if (!terminal.has(name) && (type === "DELETED" || phase === "Failed" || phase === "Succeeded")) terminal.set(name, now);
    },
    (err: unknown) => { if (err && !stopped) console.error(`pod watch ended: ${String(err)}`); });
  let stopped = false;
  const stop = async () => {
    stopped = true;
    (await watching).abort();
  };
  return { added, terminal, stop };
}

interface LogLine { time?: number; msg?: string }

/** The trainer's JSON log lines of one attempt, from the process kubelet's log files. */
function trainerLog(stateDir: string, attempt: number): LogLine[] {
  const root = join(stateDir, "kubelet", "logs");
  const dir = readdirSync(root).find((d) => d.startsWith(`${NAMESPACE}_${RUN}-${attempt}_`));
  if (!dir) return [];
  return readFileSync(join(root, dir, "trainer", "0.log"), "utf8").split("\n").flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as LogLine;
      return typeof parsed.time === "number" ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

function timeOf(lines: LogLine[], msg: string): number {
  const line = lines.find((l) => l.msg === msg);
  if (!line) throw new Error(`the trainer never logged "${msg}"`);
  return line.time!;
}

async function trainerLine(stateDir: string, attempt: number, msg: string, timeoutMs: number): Promise<number> {
  return eventually(`attempt ${attempt}: "${msg}"`, async () => {
    try {
      return timeOf(trainerLog(stateDir, attempt), msg);
    } catch {
      return undefined;
    }
  }, timeoutMs);
}
