// helm, prometheus and promtool, built once per pinned version by
// test/tools/build.sh into a cache outside the repo.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const buildScript = fileURLToPath(new URL("../tools/build.sh", import.meta.url));
export const CHART_DIR = fileURLToPath(new URL("../../charts/resumable", import.meta.url));

let toolsDir: string | undefined;

/** Builds what is missing (progress on stderr) and returns the tools' directory. */
export function tool(name: "helm" | "prometheus" | "promtool"): string {
  toolsDir ??= execFileSync("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
  return join(toolsDir, name);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; a non-zero exit is a result, not an exception. */
export async function run(name: Parameters<typeof tool>[0], args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(tool(name), args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
