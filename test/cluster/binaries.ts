// The control-plane binaries, built once per version by build.sh into a
// cache outside the repo. A warm cache answers in milliseconds. builtDir is how
// every caller runs one of the test world's build scripts.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CONTROL_PLANE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Binary = (typeof CONTROL_PLANE_BINARIES)[number];

const repo = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs one of the test world's build scripts (a path from the repository root, such as
 * "test/kwok/build.sh"), its progress on our stderr, and returns the directory it prints
 * last. The scripts build only what the cache lacks, so a warm cache answers at once.
 */
export function builtDir(script: string, ...args: string[]): string {
  const out = execFileSync("bash", [join(repo, script), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const dir = out.trim().split("\n").at(-1);
  if (!dir) throw new Error(`${script} ${args.join(" ")} exited 0 but printed no directory`);
  return dir;
}

/** Builds what is missing (progress on stderr) and returns the binaries' directory. */
export function ensureBinaries(): string {
  const dir = builtDir("test/cluster/build.sh");
  for (const b of CONTROL_PLANE_BINARIES) {
    if (!existsSync(join(dir, b))) throw new Error(`build.sh did not produce ${b} in ${dir}`);
  }
  return dir;
}
