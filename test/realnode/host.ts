// Whether this machine can run the real node (test/realnode/up.sh) now: the real-node scenarios
// and the notice benchmark skip, saying why, when it cannot.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Why this machine cannot run a real kubelet with containerd at all, or undefined if it can. */
export function hostCannot(): string | undefined {
  if (process.platform !== "linux") return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "needs root (containerd, runc, mounts, iptables)";
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "the kernel has no overlay file system (containerd's snapshotter)";
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const memory = v2 ? readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("memory") : existsSync("/sys/fs/cgroup/memory");
  if (!memory) return "no cgroup memory controller (memory limits and OOM kills need it)";
  return undefined;
}

/**
 * Another cluster's real node runs on this machine (up.sh allows one at a time: containerd
 * locks its root, kept in the cache): says whose, or undefined.
 */
export function realNodeBusy(): string | undefined {
  const cache = process.env.RESUMABLE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "resumable");
  const versions = readFileSync(fileURLToPath(new URL("versions.env", import.meta.url)), "utf8");
  const version = /^CONTAINERD_VERSION=(\S+)/m.exec(versions)?.[1];
  const owner = version && readIfPresent(join(cache, `containerd-root-${version}`, "owner"));
  const pid = owner && Number(readIfPresent(join(owner, "realnode", "containerd.pid")));
  if (!owner || !pid) return undefined;
  try {
    process.kill(pid, 0);
    return `a real node already runs on this machine, for the cluster in ${owner}`;
  } catch {
    return undefined;
  }
}

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
}
