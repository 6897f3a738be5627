import { z } from "zod";
import { CHECKPOINT_REQUEST_DIR } from "./checkpoint-request.js";
import { parseProjected } from "./projected.js";

// A gang: one attempt of a run with spec.workers > 1 is N pods, one per rank, that train as
// one (data-parallel) and checkpoint, stop and restart together. What the operator and a
// gang's trainers promise each other lives here (docs/trainer-protocol.md, "Gangs").

/**
 * The gang's addresses by rank: an annotation the operator sets on every pod of the attempt
 * once all of them have an IP, projected by the same downwardAPI volume as the checkpoint
 * request. Clusters without DNS need nothing else; the trainer needs no RBAC to read it.
 */
export const PEERS_ANNOTATION = "resumable.dev/peers";
export const PEERS_FILE = `${CHECKPOINT_REQUEST_DIR}/peers`;

/**
 * The port every rank listens on, on its own pod IP, for its peers (the reference trainer's
 * all-reduce), and MASTER_PORT for a PyTorch gang (torch's customary 29500).
 */
export const GANG_PORT = 29500;

/** The environment the operator sets on every pod of a gang (spec.workers > 1), in this order. */
export const GANG_ENV = {
  rank: "RESUMABLE_RANK",
  worldSize: "RESUMABLE_WORLD_SIZE",
  /** The projected peers file (default PEERS_FILE). */
  peersFile: "RESUMABLE_PEERS_FILE",
  // PyTorch's conventions, so a torchrun or DDP image runs unchanged. MASTER_ADDR is rank 0's
  // name through the gang's headless Service: it resolves where the cluster has DNS; without
  // DNS, a trainer reads rank 0's address from the peers file instead.
  torchRank: "RANK",
  torchWorldSize: "WORLD_SIZE",
  torchLocalRank: "LOCAL_RANK",
  masterAddr: "MASTER_ADDR",
  masterPort: "MASTER_PORT",
} as const;
export const GANG_ENV_NAMES = Object.values(GANG_ENV);

/** The annotation's JSON value. */
export const peersSchema = z.object({
  /** The attempt the addresses belong to: a trainer ignores another attempt's list. */
  attempt: z.int().positive(),
  /** Pod IPs (or host names) by rank: index r is rank r. */
  addresses: z.array(z.string().min(1).max(253)).min(1),
});
export type Peers = z.infer<typeof peersSchema>;

export function encodePeers(peers: Peers): string {
  return JSON.stringify(peersSchema.parse(peers));
}

/**
 * The peers a projected file holds, checked against the reader's own attempt and world size:
 * `none` while the operator has not published them yet (an empty file, or another attempt's
 * list), `invalid` with the reason for anything that can never become right.
 */
export function parsePeers(
  text: string,
  expected: { attempt: number; worldSize: number },
): { kind: "none" } | { kind: "peers"; peers: Peers } | { kind: "invalid"; reason: string } {
  const parsed = parseProjected(text, peersSchema);
  if (parsed.kind !== "value") return parsed;
  const peers = parsed.value;
  if (peers.attempt !== expected.attempt) return { kind: "none" };
  if (peers.addresses.length !== expected.worldSize) {
    return { kind: "invalid", reason: `${peers.addresses.length} addresses for a world of ${expected.worldSize}` };
  }
  return { kind: "peers", peers };
}
