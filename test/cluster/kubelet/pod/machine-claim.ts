// A claim on something every process on this machine shares (a pod network's octet, a host
// port): a directory made atomically, holding the claimant's pid. A claim whose process is
// gone is taken over. Used by the kubelet for its pod network and by tests for the gang port.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Claims `dir` by making it (atomic: of two processes, one succeeds) and writing this pid in it.
 * A claim left by a process that is gone is first moved aside, then made anew, so two
 * processes that both see it stale still cannot both win. False: a live process holds it.
 */
export function claimOnMachine(dir: string): boolean {
  if (!make(dir) && !takeOverStale(dir)) return false;
  writeFileSync(`${dir}/pid`, String(process.pid));
  return true;
}

function takeOverStale(dir: string): boolean {
  const owner = readNumber(`${dir}/pid`);
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

/** A positive integer from a file; undefined when there is none. */
export function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
