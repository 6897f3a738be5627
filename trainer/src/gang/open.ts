import { ENV, GANG_ENV, GANG_PORT, PEERS_FILE } from "@resumable/protocol";
import type { TrainingConfig } from "@resumable/protocol/reference-trainer";
import { ConfigError } from "../config-error.js";
import { readGang } from "../config/env.js";
import type { Collective } from "./collective.js";
import { GangListener, type GangIdentity } from "./form.js";
import { MeshCollective, soloCollective } from "./mesh.js";
import { waitForPeers } from "./peers.js";

/** This rank's place in its gang, from the environment the operator sets (docs/trainer-protocol.md, "Gangs"). */
export interface GangEnv extends GangIdentity {
  peersFile: string;
  /** RESUMABLE_POD_IP: where this rank listens (all interfaces when unset). */
  podIp: string | undefined;
}

/**
 * The gang this process is a rank of; a world of one when RESUMABLE_RANK and
 * RESUMABLE_WORLD_SIZE are unset. Rank and world size are read by the environment's one
 * reader (config/env.ts), the rest is what only the transport needs.
 */
export function readGangEnv(env: NodeJS.ProcessEnv): GangEnv {
  const { rank, worldSize } = readGang(env);
  const attempt = Number(env[ENV.attempt] || 1);
  const run = env[ENV.runUid] || env[ENV.run] || "";
  if (worldSize > 1 && run === "") throw new ConfigError(`a gang rank needs ${ENV.runUid} or ${ENV.run}: the handshake tells runs apart by it`);
  return { run, attempt, rank, worldSize, peersFile: env[GANG_ENV.peersFile] || PEERS_FILE, podIp: env[ENV.podIp] || undefined };
}

export interface OpenOptions {
  /** This rank's port (GANG_PORT; 0: any free one). */
  port?: number;
  /** Every rank's port by rank, when ranks share a host (tests, the benchmark). */
  ports?: readonly number[];
  onRefused?: (reason: string) => void;
}

/**
 * The collective of this rank: no network for a world of one; otherwise listen, wait for the
 * peers file, connect to every peer, all within gang.formationTimeoutSeconds (PeerLostError
 * past it).
 */
export async function openCollective(gang: TrainingConfig["gang"], env: GangEnv, options: OpenOptions = {}): Promise<Collective> {
  if (env.worldSize === 1) return soloCollective(gang.allReduce);
  const deadline = performance.now() + gang.formationTimeoutSeconds * 1000;
  const listener = await GangListener.listen(env, {
    host: env.podIp ?? "0.0.0.0",
    port: options.port ?? options.ports?.[env.rank] ?? GANG_PORT,
    peerTimeoutMs: gang.peerTimeoutSeconds * 1000,
    onRefused: options.onRefused,
  });
  try {
    const peers = await waitForPeers(env.peersFile, env, deadline);
    const listed = peers.addresses[env.rank];
    if (env.podIp !== undefined && listed !== env.podIp) {
      throw new ConfigError(`the gang's peers file ${env.peersFile} lists ${listed} for rank ${env.rank}, but this pod's IP is ${env.podIp}`);
    }
    const ports = options.ports ?? peers.addresses.map(() => GANG_PORT);
    const links = await listener.form({ addresses: peers.addresses, ports, deadline });
    return new MeshCollective(env.rank, env.worldSize, links, gang.allReduce);
  } finally {
    listener.close();
  }
}
