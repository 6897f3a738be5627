// helm, prometheus and promtool, built once per pinned version by
// test/tools/build.sh into a cache outside the repo.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtDir } from "../cluster/binaries.js";
import { runProcess, type RunResult } from "../support/process.js";

export const CHART_DIR = fileURLToPath(new URL("../../charts/resumable", import.meta.url));

let toolsDir: string | undefined;

/** Builds what is missing (progress on stderr) and returns the tools' directory. */
export function tool(name: "helm" | "prometheus" | "promtool"): string {
  toolsDir ??= builtDir("test/tools/build.sh");
  return join(toolsDir, name);
}

/** Runs a tool to completion; a non-zero exit is a result, not an exception. */
export function run(name: Parameters<typeof tool>[0], args: string[]): Promise<RunResult> {
  return runProcess(tool(name), args);
}
