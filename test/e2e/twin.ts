// The uninterrupted twin of a run: the same trainer and config, run once to
// completion outside the cluster. Its weightsSha256 is what a preempted and
// resumed run must end with, bit for bit.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const trainerCli = fileURLToPath(new URL("../../trainer/dist/cli.js", import.meta.url));
const cache = new Map<string, Promise<string>>();

export function twinWeightsSha256(training: Record<string, unknown>): Promise<string> {
  const key = JSON.stringify(training);
  let result = cache.get(key);
  if (!result) {
    result = run(training);
    cache.set(key, result);
  }
  return result;
}

async function run(training: Record<string, unknown>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "resumable-twin-"));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [trainerCli], {
      env: {
        ...process.env,
        RESUMABLE_CHECKPOINT_DIR: join(dir, "ckpt"),
        RESUMABLE_CONFIG: JSON.stringify(training),
        RESUMABLE_TERMINATION_LOG: join(dir, "termination-log"),
        RESUMABLE_METRICS_PORT: "0",
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
