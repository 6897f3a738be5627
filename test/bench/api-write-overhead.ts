// What the operator's API client adds to a write, against a bare HTTPS request with the same
// token over a keep-alive connection, on the same apiserver in the same run (make bench).
//
// A reconcile pass waits on its writes (docs/benchmarks.md, Scale): this tells the share the
// client (@kubernetes/client-node, its middleware and serialisation) takes from the share the
// apiserver takes, by the apiserver's own histogram over the same requests. Both sides merge-
// patch one annotation of one pod, alternately in rounds of BENCH_WRITES writes, with 1 and
// BENCH_CONCURRENCY (16, the operator's workers) in flight.
import { Agent, request } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { reuseConnections } from "@resumable/kube-runtime";
import { kubeClusterWriter } from "../../operator/src/controller/cluster-writer.js";
import { startE2E, NAMESPACE, type E2E } from "../e2e/harness.js";
import { quantiles } from "./_scale-measure.js";
import { pool, table, timeAlternately } from "./_util.js";

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const WRITES = num("BENCH_WRITES", 200);
const CONCURRENCY = num("BENCH_CONCURRENCY", 16);
const ROUNDS = 3;

/** Sum and count of the apiserver's own duration histogram for pod PATCHes. */
async function apiserverPatches(e: E2E): Promise<{ sum: number; count: number }> {
  const text = await e.kubectl(["get", "--raw", "/metrics"]);
  let sum = 0;
  let count = 0;
  for (const l of text.split("\n")) {
    if (!l.includes('verb="PATCH"') || !l.includes('resource="pods"') || !l.includes('subresource=""')) continue;
    if (l.startsWith("apiserver_request_duration_seconds_sum{")) sum += Number(l.split(" ").at(-1));
    if (l.startsWith("apiserver_request_duration_seconds_count{")) count += Number(l.split(" ").at(-1));
  }
  return { sum, count };
}

/** Runs `n` writes, `inFlight` at a time; returns each one's latency in ms. */
function writes(n: number, inFlight: number, write: (i: number) => Promise<void>): Promise<number[]> {
  return pool(Array.from({ length: n }, (_, i) => i), inFlight, async (i) => {
    const started = performance.now();
    await write(i);
    return performance.now() - started;
  });
}

const e = await startE2E({ withKubelet: false, startOperator: false });
try {
  const kc = reuseConnections(new KubeConfig());
  kc.loadFromFile(e.cluster.kubeconfig);
  const writer = kubeClusterWriter(kc, "resumable-bench");
  // The default ServiceAccount appears a moment after the namespace: retry until it does.
  let uid = "";
  for (let tries = 0; !uid; tries++) {
    try {
      const pod = await e.core.createNamespacedPod({ namespace: NAMESPACE, body: { metadata: { name: "patched" }, spec: { automountServiceAccountToken: false, containers: [{ name: "c", image: "none" }] } } });
      uid = pod.metadata!.uid!;
    } catch (err) {
      if (tries > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const cluster = kc.getCurrentCluster()!;
  const server = new URL(cluster.server);
  const agent = new Agent({ keepAlive: true, ca: Buffer.from(cluster.caData!, "base64") });
  const token = kc.getCurrentUser()!.token!;
  const bare = (i: number) => new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ metadata: { uid, annotations: { "bench/i": `bare-${i}` } } });
    const req = request({
      host: server.hostname, port: server.port, path: `/api/v1/namespaces/${NAMESPACE}/pods/patched`, method: "PATCH", agent,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/merge-patch+json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`bare PATCH answered ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
  const client = (i: number) => writer.patchPodAnnotation(NAMESPACE, "patched", uid, "bench/i", `client-${i}`);

  console.log(`api write overhead: ${ROUNDS} rounds of ${WRITES} pod merge-patches per side, alternating`);
  const rows: (string | number)[][] = [];
  for (const inFlight of [1, CONCURRENCY]) {
    const seen = { client: [] as number[], bare: [] as number[] };
    const server = { client: 0, bare: 0 };
    const cpu = { client: 0, bare: 0 };
    const side = (name: "client" | "bare", write: (i: number) => Promise<void>) => async () => {
      const before = await apiserverPatches(e);
      const cpuBefore = process.cpuUsage();
      seen[name].push(...(await writes(WRITES, inFlight, write)));
      const used = process.cpuUsage(cpuBefore);
      cpu[name] += (used.user + used.system) / 1000;
      const after = await apiserverPatches(e);
      server[name] += (after.sum - before.sum) * 1000;
    };
    await timeAlternately(ROUNDS, side("client", client), side("bare", bare));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const p99 = (xs: number[]) => quantiles(xs).p99;
    const n = ROUNDS * WRITES;
    rows.push(
      [`${inFlight} in flight: mean round trip, ms`, mean(seen.client), mean(seen.bare), mean(seen.client) / mean(seen.bare)],
      [`${inFlight} in flight: p99 round trip, ms`, p99(seen.client), p99(seen.bare), p99(seen.client) / p99(seen.bare)],
      [`${inFlight} in flight: apiserver's own mean, ms`, server.client / n, server.bare / n, server.client / server.bare],
      [`${inFlight} in flight: client CPU per write, ms`, cpu.client / n, cpu.bare / n, cpu.client / cpu.bare],
    );
  }
  console.log(table(["measure", "operator's client", "bare HTTPS", "ratio"], rows));
  agent.destroy();
} finally {
  await e.stop();
}
