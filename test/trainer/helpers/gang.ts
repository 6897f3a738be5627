// In-process gangs for the transport's tests: every rank a GangListener on 127.0.0.1 with a
// port of its own, formed as the pods would be, then wrapped in the real MeshCollective.
import { createServer } from "node:net";
import { GangListener, type GangIdentity } from "../../../trainer/src/gang/form.js";
import { MeshCollective, type AllReduceAlgorithm } from "../../../trainer/src/gang/mesh.js";

export interface GangOptions {
  algorithm?: AllReduceAlgorithm;
  peerTimeoutMs?: number;
  formationMs?: number;
  run?: string;
  attempt?: number;
}

export function identity(rank: number, worldSize: number, options: GangOptions = {}): GangIdentity {
  return { run: options.run ?? "run-uid-1", attempt: options.attempt ?? 1, rank, worldSize };
}

export async function listenAll(worldSize: number, options: GangOptions = {}): Promise<GangListener[]> {
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) => GangListener.listen(identity(rank, worldSize, options), { host: "127.0.0.1", port: 0, peerTimeoutMs: options.peerTimeoutMs ?? 10_000 })),
  );
}

export async function inProcessGang(worldSize: number, options: GangOptions = {}): Promise<MeshCollective[]> {
  const listeners = await listenAll(worldSize, options);
  const addresses = listeners.map(() => "127.0.0.1");
  const ports = listeners.map((l) => l.port);
  const deadline = performance.now() + (options.formationMs ?? 10_000);
  const links = await Promise.all(listeners.map((l) => l.form({ addresses, ports, deadline })));
  return links.map((l, rank) => new MeshCollective(rank, worldSize, l, options.algorithm ?? "ring"));
}

/** Ports free a moment ago, for ranks whose listening socket the code under test opens itself. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen({ host: "127.0.0.1", port: 0 }, () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Handles that would keep a process alive: sockets, servers, timers. */
export function liveHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Immediate/.test(r));
}
