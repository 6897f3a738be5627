// One gang rendezvous port for the whole machine. Every local cluster's process kubelet runs
// its pods as processes in this host's network, each on a pod IP of its own. The reference
// trainer's ranks listen at GANG_PORT on that pod IP; torch's rendezvous (the PyTorch
// example's rank 0) listens at MASTER_PORT (= GANG_PORT) on every address. So while a PyTorch
// gang runs, a gang of another file (another cluster) cannot listen: its ranks exit 1 on
// EADDRINUSE within a second of starting (CI saw the Kueue gang fail twice so), and the other
// way round. In a cluster each pod has a network of its own and none of this arises.
// The tests that run such a gang hold this claim, taken across processes, for the gang's life.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { claimOnMachine } from "@resumable/process-kubelet/machine-claim";
import { GANG_PORT } from "@resumable/protocol";

const CLAIM = join(tmpdir(), `resumable-gang-port-${GANG_PORT}`);

/** Waits for the machine's gang port, then holds it until the returned release is called. */
export async function holdGangPort(log: (line: string) => void = console.log): Promise<() => void> {
  const waitedFrom = Date.now();
  while (!claimOnMachine(CLAIM)) await sleep(250);
  const waited = (Date.now() - waitedFrom) / 1000;
  if (waited >= 1) log(`waited ${waited.toFixed(1)} s for the gang port ${GANG_PORT} (another file's gang held it)`);
  return () => rmSync(CLAIM, { recursive: true, force: true });
}
