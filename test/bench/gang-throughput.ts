/**
 * A gang's step throughput: the reference MLP trained by N = 1, 2 and 4 ranks, each a trainer
 * process (trainer/dist/cli.js) on its own loopback address, the global batch split among them
 * and their gradients summed by the ring all-reduce every step. N = 1 (a single pod's own
 * optimizer step, no network) is the baseline measured in the same run. The rate is rank 0's,
 * from its first step to its last (start-up and the final save left out). On a machine with
 * fewer cores than ranks the ranks share them: read N = 4 on 2 cores as the all-reduce's cost
 * plus the sharing, not as scaling. Knobs: BENCH_STEPS (default 300), BENCH_BATCH (256).
 *   node --import tsx test/bench/gang-throughput.ts
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { encodePeers, ENV, GANG_ENV } from "@resumable/protocol";
import { repoRoot } from "../trainer/helpers/trainer-process.js";
import { table } from "./_util.js";

const steps = Number(process.env.BENCH_STEPS ?? 300);
const batchSize = Number(process.env.BENCH_BATCH ?? 256);
const training = { model: "mlp", dataset: "synthetic", syntheticExamples: 4096, totalSteps: steps, batchSize, seed: 7, backend: "cpu", checkpoint: { everySteps: 0, everySeconds: 0, keep: 1 } };
const cli = join(repoRoot, "trainer/dist/cli.js");

interface Line { time: number; msg?: string; step?: number }

/** Steps per second on rank 0 of a gang of `workers`, from its first step to its summary. */
async function gangRate(workers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bench-gang-"));
  // 127.253.X: neither the local clusters' pods (127.1-254 are claimed live, never 253 by
  // a bench run alone) nor the e2e twins (127.255).
  const subnet = (process.pid % 250) + 1;
  const addresses = Array.from({ length: workers }, (_, rank) => `127.253.${subnet}.${rank + 1}`);
  writeFileSync(join(dir, "peers"), encodePeers({ attempt: 1, addresses }));
  try {
    const logs = await Promise.all(addresses.map(async (ip, rank) => {
      const env: Record<string, string> = {
        ...process.env as Record<string, string>,
        [ENV.config]: JSON.stringify(training),
        [ENV.attempt]: "1",
        [ENV.run]: "bench",
        [ENV.podIp]: ip,
        [ENV.metricsPort]: "0",
        [ENV.terminationLog]: join(dir, `termination-${rank}`),
        LOG_LEVEL: "trace",
        ...(workers > 1 ? { [GANG_ENV.rank]: String(rank), [GANG_ENV.worldSize]: String(workers), [GANG_ENV.peersFile]: join(dir, "peers") } : {}),
        ...(rank === 0 ? { [ENV.checkpointDir]: join(dir, "ckpt") } : {}),
      };
      const { stdout } = await promisify(execFile)(process.execPath, [cli], { env, maxBuffer: 256 << 20 });
      return stdout;
    }));
    const lines = logs[0]!.split("\n").flatMap((l) => { try { return [JSON.parse(l) as Line]; } catch { return []; } });
    const stepLines = lines.filter((l) => l.msg === "step");
    const first = stepLines[0]!;
    const last = stepLines.at(-1)!;
    return (last.step! - first.step!) / ((last.time - first.time) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: string[][] = [];
let base = 0;
for (const workers of [1, 2, 4]) {
  const rate = await gangRate(workers);
  if (workers === 1) base = rate;
  rows.push([String(workers), rate.toFixed(1), (rate * batchSize).toFixed(0), (rate / base).toFixed(2)]);
}
console.log(`gang step throughput, MLP, global batch ${batchSize}, ${steps} steps (${new Date().toISOString().slice(0, 10)})`);
console.log(table(["ranks", "steps/s", "examples/s", "ratio to 1 rank"], rows));
