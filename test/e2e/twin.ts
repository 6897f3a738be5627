// The uninterrupted twin of a run: the same trainer and config, run once to
// completion outside the cluster. Its weightsSha256 is what a preempted and
// resumed run must end with, bit for bit. A gang's twin is a gang of the same
// size (a gang of N sums its gradients in another order than one pod does).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { encodePeers, ENV, GANG_ENV } from "@resumable/protocol";

const trainerCli = fileURLToPath(new URL("../../trainer/dist/cli.js", import.meta.url));
const cache = new Map<string, Promise<string>>();

export function twinWeightsSha256(training: Record<string, unknown>, workers = 1): Promise<string> {
  // A pause between steps changes no weight: the twin runs without it, in the time its steps take.
  const { stepDelayMs: _, ...shape } = training;
  const key = `${workers} ${JSON.stringify(shape)}`;
  let result = cache.get(key);
  if (!result) {
    result = workers === 1 ? run(shape) : runGang(shape, workers);
    cache.set(key, result);
  }
  return result;
}

async function run(
  training: Record<string, unknown>,
  { env = {}, dir = mkdtempSync(join(tmpdir(), "resumable-twin-")), storage = true }: { env?: Record<string, string>; dir?: string; storage?: boolean } = {},
): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [trainerCli], {
      env: {
        ...process.env,
        ...(storage ? { [ENV.checkpointDir]: join(dir, "ckpt") } : {}),
        RESUMABLE_CONFIG: JSON.stringify(training),
        RESUMABLE_TERMINATION_LOG: join(dir, "termination-log"),
        RESUMABLE_METRICS_PORT: "0",
        ...env,
      },
      maxBuffer: 64 << 20,
    });
    const summary = JSON.parse(stdout.trimEnd().split("\n").at(-1) ?? "{}") as { reason?: string; weightsSha256?: string };
    if (summary.reason !== "completed" || !summary.weightsSha256) throw new Error(`twin run did not complete: ${JSON.stringify(summary)}`);
    return summary.weightsSha256;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * N trainer processes on this host, each on its own loopback address (127.255.X.rank+1: the
 * local clusters' pods use 127.1-254, pod-network.ts), as the operator would start them: the
 * gang env, the peers file, and storage for rank 0 only. Every rank must end with rank 0's weights.
 */
async function runGang(training: Record<string, unknown>, workers: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "resumable-gang-twin-"));
  const subnet = (process.pid % 250) + 1;
  const addresses = Array.from({ length: workers }, (_, rank) => `127.255.${subnet}.${rank + 1}`);
  const peersFile = join(dir, "peers");
  writeFileSync(peersFile, encodePeers({ attempt: 1, addresses }));
  try {
    const digests = await Promise.all(
      addresses.map((ip, rank) => {
        const env: Record<string, string> = {
          [ENV.attempt]: "1",
          [ENV.run]: "twin",
          [ENV.podIp]: ip,
          [GANG_ENV.rank]: String(rank),
          [GANG_ENV.worldSize]: String(workers),
          [GANG_ENV.peersFile]: peersFile,
        };
        // Only rank 0 touches storage; the others get no location at all.
        return run(training, { env, dir: mkdtempSync(join(dir, `rank-${rank}-`)), storage: rank === 0 });
      }),
    );
    if (new Set(digests).size !== 1) throw new Error(`the twin gang's ranks ended with different weights: ${digests.join(", ")}`);
    return digests[0]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
