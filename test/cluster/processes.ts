// Long-running cluster processes: started detached in their own process
// group with output to a log file, so they outlive the command that started
// them (`make cluster-up` returns) and can be stopped by pid from another
// process (`make cluster-down`), children included.
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface Started {
  name: string;
  pid: number;
  log: string;
  /** The command line, so a chaos test can start the same process again after killing it. */
  command: string;
  args: string[];
}

export function startDetached(name: string, command: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Started {
  const fd = openSync(log, "a");
  try {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.unref();
    return { name, pid: child.pid, log, command, args };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the process group, SIGKILL whatever is left after `graceMs`. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(20);
}

/** A port free at this moment on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
