// Which 127.X.0.0/16 this cluster's pods get their IPs from. Every local cluster on the machine
// (the e2e files run two at a time) has pods on loopback, and a pod listens on its own podIP at
// fixed ports (a gang's ranks at GANG_PORT): two clusters handing out the same 127.1.0.2 would
// make one pod's listen fail with EADDRINUSE. So each kubelet claims a second octet of its own
// (machine-claim.ts: a directory per octet holding the claimant's pid, taken over once stale).
// A kubelet restarted on the same state directory keeps its octet, so its pods keep their IPs (the apiserver refuses a second IP of the same family) unless another
// cluster took the octet meanwhile; a pod's IP from its status is then still kept (PodIpPool).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimOnMachine, readNumber } from "./machine-claim.js";

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
    if (!claimOnMachine(dir)) continue;
    writeFileSync(remembered, String(octet));
    return { octet, release: () => rmSync(dir, { recursive: true, force: true }) };
  }
  throw new Error(`no free pod network: 127.1-254.0.0/16 are all claimed by live kubelets (${claimsDir})`);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
