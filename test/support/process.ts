// A command run to completion for a test to judge: a non-zero exit is a
// result to assert on, not an exception; failing to start at all still throws.
import { execFile, type ExecFileOptions } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runProcess(file: string, args: string[], opts: ExecFileOptions = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { maxBuffer: 64 << 20, ...opts, encoding: "utf8" });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
