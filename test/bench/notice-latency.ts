/**
 * From a reclaim-notice taint on the real node `real-spot-a` (the real kubelet with containerd,
 * test/realnode/) to the checkpoint it asks for, committed: p50 and p99 over BENCH_TRIALS
 * trials (12), each a new TrainingRun of the trainer image on that node, split into its parts:
 *   taint → annotation   the operator sees the node change and patches the pod (a watch here)
 *   annotation → file    the kubelet rewrites the downwardAPI volume (its host path, watched here)
 *   file → trainer       the trainer notices (its own log line, ms times)
 *   trainer → commit     the save at the next step boundary commits (its own log line)
 * Every clock is this machine's: the containers share it. Skips, saying why, where a real
 * kubelet cannot run, or when another real node already runs here (one per machine).
 * Knobs: BENCH_TRIALS (12), BENCH_STEP_DELAY_MS (100: a step's length, so a commit waits for a
 * boundary as a real step would make it), BENCH_NOTICE_NODE=process (the same trials on the
 * process kubelet's spot nodes, without the real node: to try the bench out, not to measure).
 *   node --import tsx test/bench/notice-latency.ts
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION } from "@resumable/protocol";
import { DEFAULT_NODES_FILE } from "../cluster/cluster.js";
import { NAMESPACE, startE2E, type E2E } from "../e2e/harness.js";
import { currentPod, pastStep } from "../e2e/expect.js";
import { trainerAttempts } from "../e2e/trainer-records.js";
import { trainingRun } from "../e2e/runs.js";
import { hostCannot, realNodeBusy } from "../realnode/host.js";
import { table } from "./_util.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const trials = Number(process.env.BENCH_TRIALS ?? 12);
const stepDelayMs = Number(process.env.BENCH_STEP_DELAY_MS ?? 100);
const real = process.env.BENCH_NOTICE_NODE !== "process";
const TAINT = "aws-node-termination-handler/spot-itn";

const why = real ? (hostCannot() ?? realNodeBusy()) : undefined;
if (why) {
  console.log(`notice-latency: skipped: the real node cannot run here: ${why}`);
  process.exit(0);
}

const PARTS = ["taint → annotation", "annotation → file", "file → trainer", "trainer → commit", "taint → commit"] as const;
type Trial = Record<(typeof PARTS)[number], number>;

/** The first `get()` that is not undefined, polled every `everyMs`; the time it was seen. */
async function firstSeen<T>(what: string, get: () => Promise<T | undefined> | T | undefined, everyMs: number, limitMs = 120_000): Promise<{ value: T; at: number }> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return { value, at: Date.now() };
    if (Date.now() > until) throw new Error(`notice-latency: no ${what} within ${limitMs / 1000} s`);
    await sleep(everyMs);
  }
}

async function trial(e: E2E, stateDir: string, i: number): Promise<Trial> {
  const name = `notice-${i}`;
  // A long run of steps of BENCH_STEP_DELAY_MS, no periodic save to confuse with the requested one.
  const training = { model: "mlp", hiddenUnits: 32, dataset: "synthetic", syntheticExamples: 512, batchSize: 32, totalSteps: 100_000, stepDelayMs, backend: "cpu", checkpoint: { everySteps: 0, everySeconds: 0, keep: 2 } };
  await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { training, ...(real && { image: "resumable/trainer:dev" }) })));
  await e.waitRun(name, "training", pastStep(5), 5 * 60_000);
  const pod = await currentPod(e, name);
  const node = pod.spec!.nodeName!;
  if (real && node !== "real-spot-a") throw new Error(`notice-latency: ${name} runs on ${node}, not real-spot-a`);
  const podsRoot = real ? join(stateDir, "realnode", "kubelet", "pods") : join(stateDir, "kubelet", "pods");
  const file = join(podsRoot, pod.metadata!.uid!, "volumes", "kubernetes.io~downward-api", "checkpoint-request", "checkpoint-request");
  if (!existsSync(file)) throw new Error(`notice-latency: no checkpoint-request volume at ${file}`);

  // The pod watched as the kubelet watches it: the annotation is seen when its update arrives.
  let annotatedAt: number | undefined;
  const kc = new KubeConfig();
  kc.loadFromFile(e.cluster.kubeconfig);
  const watching = await new Watch(kc).watch(`/api/v1/namespaces/${NAMESPACE}/pods`, { fieldSelector: `metadata.name=${pod.metadata!.name!}` }, (_type, obj: V1Pod) => {
    if (annotatedAt === undefined && obj.metadata?.annotations?.[CHECKPOINT_REQUEST_ANNOTATION]) annotatedAt = Date.now();
  }, () => {});
  const tainted = Date.now();
  await e.kubectl(["taint", "node", node, `${TAINT}=true:NoSchedule`]);
  const annotated = firstSeen("annotation", () => annotatedAt, 5);
  const refreshed = firstSeen("file refresh", () => {
    const text = readFileSync(file, "utf8");
    return text.trim() === "" ? undefined : text;
  }, 5);
  const [annotation, projected] = await Promise.all([annotated, refreshed]);
  watching.abort();
  const line = (msg: string) => () => trainerAttempts(e, name).at(-1)?.lines.find((l) => l.msg === msg);
  const seen = await firstSeen("trainer log of the request", line("checkpoint requested: saving at the next step boundary"), 100);
  const committed = await firstSeen("early checkpoint commit", line("early checkpoint committed on request"), 100);
  await e.kubectl(["taint", "node", node, `${TAINT}-`]);
  await e.kubectl(["delete", "trainingrun", name, "--wait=true"]);
  await firstSeen(`${name}'s pod gone`, async () => ((await e.runPods(name)).length === 0 ? true : undefined), 250);

  const seenAt = seen.value.time as number;
  const committedAt = committed.value.time as number;
  return {
    "taint → annotation": (annotation.value - tainted) / 1000,
    "annotation → file": (projected.at - annotation.value) / 1000,
    "file → trainer": (seenAt - projected.at) / 1000,
    "trainer → commit": (committedAt - seenAt) / 1000,
    "taint → commit": (committedAt - tainted) / 1000,
  };
}

/** The q-quantile by the nearest-rank rule: with 12 trials, p99 is the slowest one. */
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

const e = await startE2E(real ? { nodesFile: onlyOndemand(join(mkdtempSync(join(tmpdir(), "notice-nodes-")), "nodes.json")) } : {});
const stateDir = e.cluster.stateDir;
const sh = promisify(execFile);
try {
  if (real) await sh("bash", [join(here, "../realnode/up.sh"), stateDir], { maxBuffer: 64 << 20 });
  console.log(`notice-latency: ${trials} trials on ${real ? "real-spot-a" : "the process kubelet's spot nodes"}, steps of ${stepDelayMs} ms, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const results: Trial[] = [];
  for (let i = 1; i <= trials; i++) {
    results.push(await trial(e, stateDir, i));
    console.log(`  trial ${i}: ${PARTS.map((p) => `${p} ${results.at(-1)![p].toFixed(3)} s`).join(", ")}`);
  }
  console.log(table(["part", "p50 s", "p99 s", "min s", "max s"], PARTS.map((p) => {
    const xs = results.map((r) => r[p]);
    return [p, quantile(xs, 0.5), quantile(xs, 0.99), Math.min(...xs), Math.max(...xs)];
  })));
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; the pod is watched, the file polled every 5 ms, the trainer's lines carry ms times.`);
} finally {
  if (real) await sh("bash", [join(here, "../realnode/down.sh"), stateDir]).catch((err: unknown) => console.log(`notice-latency: down.sh: ${String(err)}`));
  await e.stop();
}

/** The process kubelet plays only the untainted on-demand node: every spot pod lands on the real node. */
function onlyOndemand(path: string): string {
  const nodes = JSON.parse(readFileSync(DEFAULT_NODES_FILE, "utf8")) as { name: string }[];
  writeFileSync(path, JSON.stringify(nodes.filter((n) => n.name === "ondemand-a")));
  return path;
}
