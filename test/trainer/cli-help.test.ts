/** `resumable-trainer --help`, as `docker run resumable/trainer:dev --help` runs it: the usage, exit 0, no training. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const cli = fileURLToPath(new URL("../../trainer/src/cli.ts", import.meta.url));

test("--help prints the usage with the options and exit codes and exits 0 without a checkpoint dir or config", async () => {
  const env = { ...process.env };
  delete env.RESUMABLE_CHECKPOINT_DIR;
  delete env.RESUMABLE_CONFIG;
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", cli, "--help"], { env });
  assert.match(stdout, /^Usage: resumable-trainer /);
  assert.match(stdout, /--config FILE/);
  assert.match(stdout, /RESUMABLE_CHECKPOINT_DIR/);
  assert.match(stdout, /143 preempted/);
});
