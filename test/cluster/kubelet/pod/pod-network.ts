// Which 127.X.0.0/16 this cluster's pods get their IPs from. Every local cluster on the machine
// (the e2e files run two at a time) has pods on loopback, and a pod listens on its own podIP at
// fixed ports (a gang's ranks at GANG_PORT): two clusters handing out the same 127.1.0.2 would
// make one pod's listen fail with EADDRINUSE. So each kubelet claims a second octet of its own:
// a directory per octet, made atomically, holding the claimant's pid; a claim whose process is
// gone is taken over. A kubelet restarted on the same state directory keeps its octet, so its
// pods keep their IPs (the apiserver refuses a second IP of the same family) unless another
// cluster took the octet meanwhile; a pod's IP from its status is then still kept (PodIpPool).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const claimsDir = join(tmpdir(), "resumable-pod-networks");

export interface PodNetwork {
  /** X in 127.X.0.0/16. */
  octet: number;
  release(): void;
}

export function claimPodNetwork(stateDir: string): PodNetwork {
  mkdirSync(claimsDir, { recursive: true });
  const remembered = join(stateDir, "pod-network");
  const previous = readNumber(remembered);
  const order = previous === undefined ? range(1, 254) : [previous, ...range(1, 254).filter((o) => o !== previous)];
  for (const octet of order) {
    const dir = join(claimsDir, String(octet));
    if (!take(dir)) continue;
    writeFileSync(join(dir, "pid"), String(process.pid));
    writeFileSync(remembered, String(octet));
    return { octet, release: () => rmSync(dir, { recursive: true, force: true }) };
  }
  throw new Error(`no free pod network: 127.1-254.0.0/16 are all claimed by live kubelets (${claimsDir})`);
}

/**
 * Claims `dir` by making it (atomic: of two kubelets, one succeeds). A claim left by a process
 * that is gone is first moved aside, then made anew, so two kubelets that both see it stale
 * still cannot both win.
 */
function take(dir: string): boolean {
  if (make(dir)) return true;
  const owner = readNumber(join(dir, "pid"));
  // No pid yet: a claim being made right now. Leave it to its maker.
  if (owner === undefined || alive(owner)) return false;
  const aside = `${dir}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  } catch {
    return false;
  }
  return make(dir);
}

function make(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
