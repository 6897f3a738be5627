// The control-plane binaries, built once per version by build.sh into a
// cache outside the repo. A warm cache answers in milliseconds.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CONTROL_PLANE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Binary = (typeof CONTROL_PLANE_BINARIES)[number];

const buildScript = fileURLToPath(new URL("./build.sh", import.meta.url));

/** Builds what is missing (progress on stderr) and returns the binaries' directory. */
export function ensureBinaries(): string {
  const dir = execFileSync("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
  for (const b of CONTROL_PLANE_BINARIES) {
    if (!existsSync(join(dir, b))) throw new Error(`build.sh did not produce ${b} in ${dir}`);
  }
  return dir;
}
