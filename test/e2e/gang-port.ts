// One gang rendezvous port for the whole machine. Every local cluster's process kubelet runs
// its pods as processes in this host's network, each on a pod IP of its own. The reference
// trainer's ranks listen at GANG_PORT on that pod IP; torch's rendezvous (the PyTorch
// example's rank 0) listens at MASTER_PORT (= GANG_PORT) on every address. So while a PyTorch
// gang runs, a gang of another file (another cluster) cannot listen: its ranks exit 1 on
// EADDRINUSE within a second of starting (CI saw the Kueue gang fail twice so), and the other
// way round. In a cluster each pod has a network of its own and none of this arises.
// The tests that run such a gang hold this lock, taken across processes, for the gang's life.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GANG_PORT } from "@resumable/protocol";

const LOCK = join(tmpdir(), `resumable-gang-port-${GANG_PORT}.lock`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits for the machine's gang port, then holds it until the returned release is called. */
export async function holdGangPort(log: (line: string) => void = console.log): Promise<() => void> {
  let waitedFrom: number | undefined;
  for (;;) {
    try {
      mkdirSync(LOCK); // atomic: exactly one process creates it
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      if (waitedFrom !== undefined) log(`waited ${((Date.now() - waitedFrom) / 1000).toFixed(1)} s for the gang port ${GANG_PORT} (another file's gang held it)`);
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    // A holder that died without releasing leaves the lock behind: its pid says so.
    const holder = Number((() => { try { return readFileSync(join(LOCK, "pid"), "utf8"); } catch { return ""; } })());
    if (holder > 0 && !alive(holder)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    waitedFrom ??= Date.now();
    await sleep(250);
  }
}
