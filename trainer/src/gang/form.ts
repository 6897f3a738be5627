import { connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { PeerLostError } from "./collective.js";
import { FRAME, Link, type Frame } from "./wire.js";

// Gang formation: every pair of ranks gets one connection, the higher rank dialling the lower
// (rank r listens for r+1..N-1 and dials 0..r-1), each opened with a handshake both sides
// check. A rank of another run or attempt (a zombie of an older gang whose old IP the new
// gang reused, or the other way round) or a second claimant of a rank is refused, so it can
// never join: its own formation ends in PeerLostError.

/** Who a rank is: what a handshake carries and checks. */
export interface GangIdentity {
  /** The run's uid (its name outside the operator): another run's rank is refused. */
  run: string;
  attempt: number;
  rank: number;
  worldSize: number;
}

export interface FormOptions {
  /** Every rank's host by rank (the peers file). */
  addresses: readonly string[];
  /** Every rank's port by rank: GANG_PORT in a pod; distinct ports when ranks share a host. */
  ports: readonly number[];
  /** performance.now() by which every connection must be up. */
  deadline: number;
}

export interface ListenOptions {
  host: string;
  /** GANG_PORT in a pod; 0 (any free port) when ranks share a host in tests. */
  port: number;
  /** The bound on each receive or send once connected (gang.peerTimeoutSeconds). */
  peerTimeoutMs: number;
  /** Hears of each connection refused (this side goes on waiting for the right one). */
  onRefused?: (reason: string) => void;
}

/** Pause between dials while a peer is not listening yet: short next to a trainer's start-up. */
const redialMs = 200;

function describe(who: GangIdentity): string {
  return `rank ${who.rank}/${who.worldSize} of attempt ${who.attempt} of run ${JSON.stringify(who.run)}`;
}

/** Why `theirs` may not be `expectedRank` in `ours`'s gang; undefined when it may. */
function mismatch(ours: GangIdentity, theirs: unknown, expectedRank: (rank: number) => boolean): string | undefined {
  const t = theirs as Partial<GangIdentity> | null;
  if (typeof t !== "object" || t === null || typeof t.run !== "string" || !Number.isInteger(t.attempt) || !Number.isInteger(t.rank) || !Number.isInteger(t.worldSize)) {
    return `not a gang handshake: ${JSON.stringify(theirs)}`;
  }
  const them = t as GangIdentity;
  if (them.run !== ours.run || them.attempt !== ours.attempt || them.worldSize !== ours.worldSize || !expectedRank(them.rank)) {
    return `${describe(them)} is not a peer of ${describe(ours)}`;
  }
  return undefined;
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function decode(frame: Frame): unknown {
  try {
    return JSON.parse(frame.payload.toString("utf8"));
  } catch {
    return frame.payload.toString("utf8").slice(0, 200);
  }
}

/**
 * This rank's listening socket, opened before the peers are known so that early dialers are
 * answered; closed once the gang has formed (a late zombie then finds nothing to talk to).
 */
export class GangListener {
  private readonly accepted = new Map<number, Link>();
  /** Connections still in their handshake: cut when formation ends. */
  private readonly handshaking = new Set<Link>();
  private readonly changed = new Set<() => void>();
  /** Aborted when formation ends either way: dials and waits still under way give up at once. */
  private readonly stop = new AbortController();
  private constructor(
    private readonly server: Server,
    readonly identity: GangIdentity,
    private readonly options: ListenOptions,
  ) {
    server.on("connection", (socket) => void this.answer(socket));
  }

  static async listen(identity: GangIdentity, options: ListenOptions): Promise<GangListener> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new GangListener(server, identity, options);
  }

  /** The port actually bound (port 0 asks the system for one). */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  /** Connections to every other rank by rank, or PeerLostError naming the first one missing at the deadline. */
  async form(options: FormOptions): Promise<Map<number, Link>> {
    const { rank, worldSize } = this.identity;
    const links = new Map<number, Link>();
    try {
      const dialled = Array.from({ length: rank }, (_, peer) => dial(this.identity, peer, options, this.options.peerTimeoutMs, this.stop.signal).then((link) => links.set(peer, link)));
      await Promise.all([...dialled, this.acceptAll(options.deadline, options.addresses)]);
    } catch (err) {
      for (const link of [...links.values(), ...this.accepted.values()]) link.destroy(err as PeerLostError);
      throw err;
    } finally {
      this.close();
    }
    for (let peer = rank + 1; peer < worldSize; peer++) links.set(peer, this.accepted.get(peer)!);
    return links;
  }

  /** Stops listening (idempotent); the connections already formed stay open. */
  close(): void {
    this.stop.abort();
    for (const link of this.handshaking) link.destroy(link.lostError("arrived after the gang had formed"));
    for (const wake of this.changed) wake();
    // Not waiting for close's callback: it comes only once the formed connections end too.
    if (this.server.listening) this.server.close();
  }

  private async acceptAll(deadline: number, addresses: readonly string[]): Promise<void> {
    const { rank, worldSize } = this.identity;
    for (;;) {
      const missing = Array.from({ length: worldSize - rank - 1 }, (_, i) => rank + 1 + i).filter((peer) => !this.accepted.has(peer));
      if (missing.length === 0) return;
      if (this.stop.signal.aborted) throw new PeerLostError(undefined, "gang formation was stopped");
      const left = deadline - performance.now();
      if (left <= 0) {
        const peer = missing[0]!;
        throw new PeerLostError(peer, `rank ${peer} (${addresses[peer]}) did not connect within the formation bound (missing: ranks ${missing.join(", ")})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.changed.add(wake);
      });
      this.changed.clear();
    }
  }

  private async answer(socket: Socket): Promise<void> {
    const link = new Link(socket, { rank: undefined, label: `a dialer from ${socket.remoteAddress}:${socket.remotePort}` }, this.options.peerTimeoutMs);
    if (this.stop.signal.aborted) return link.destroy(link.lostError("arrived after the gang had formed"));
    let hello: unknown;
    this.handshaking.add(link);
    try {
      const frame = await link.receive();
      hello = frame.kind === FRAME.hello ? decode(frame) : `frame kind ${frame.kind} before a handshake`;
    } catch {
      return; // it went away or said nothing: nothing joined
    } finally {
      this.handshaking.delete(link);
    }
    const me = this.identity;
    const refusal = mismatch(me, hello, (r) => r > me.rank && r < me.worldSize) ?? (this.accepted.has((hello as GangIdentity).rank) ? `rank ${(hello as GangIdentity).rank} has already joined` : undefined);
    if (refusal !== undefined) {
      this.options.onRefused?.(refusal);
      await link.send(FRAME.refuse, 0, encode({ reason: refusal })).catch(() => {});
      await link.close(1000);
      return;
    }
    const peer = (hello as GangIdentity).rank;
    link.peer = { rank: peer, label: `rank ${peer} (${socket.remoteAddress})` };
    this.accepted.set(peer, link);
    await link.send(FRAME.welcome, 0, encode(me)).catch(() => {});
    this.changed.forEach((wake) => wake());
  }
}

/** Connects to `peer`, retrying while it is not listening yet, and checks who answered. */
async function dial(me: GangIdentity, peer: number, options: FormOptions, peerTimeoutMs: number, stop: AbortSignal): Promise<Link> {
  const where = `${options.addresses[peer]}:${options.ports[peer]}`;
  let lastError = "no answer";
  while (performance.now() < options.deadline && !stop.aborted) {
    let socket: Socket;
    try {
      socket = await open(options.addresses[peer]!, options.ports[peer]!, options.deadline - performance.now(), stop);
    } catch (err) {
      lastError = (err as Error).message;
      await sleep(redialMs, undefined, { signal: stop }).catch(() => {});
      continue;
    }
    const link = new Link(socket, { rank: peer, label: `rank ${peer} (${where})` }, peerTimeoutMs);
    await link.send(FRAME.hello, 0, encode(me));
    const reply = await link.receive(Math.max(1, options.deadline - performance.now()));
    const body = decode(reply);
    if (reply.kind === FRAME.refuse) {
      link.destroy(link.lostError("refused this rank"));
      throw new PeerLostError(peer, `rank ${peer} (${where}) refused ${describe(me)}: ${(body as { reason?: string }).reason ?? JSON.stringify(body)}`);
    }
    const wrong = reply.kind === FRAME.welcome ? mismatch(me, body, (r) => r === peer) : `frame kind ${reply.kind} instead of a handshake`;
    if (wrong !== undefined) {
      link.destroy(link.lostError("is not this gang's peer"));
      throw new PeerLostError(peer, `${where} should be rank ${peer} of this gang but answered: ${wrong}`);
    }
    if (stop.aborted) link.destroy(link.lostError("joined after formation had ended"));
    return link;
  }
  throw new PeerLostError(peer, `rank ${peer} (${where}) could not be reached within the formation bound: ${lastError}`);
}

function open(host: string, port: number, timeoutMs: number, stop: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const settle = (err: Error | undefined) => {
      clearTimeout(timer);
      stop.removeEventListener("abort", aborted);
      socket.removeAllListeners("error");
      if (!err) return resolve(socket);
      socket.destroy();
      reject(err);
    };
    const aborted = () => settle(new Error("gang formation was stopped"));
    const timer = setTimeout(() => settle(new Error(`connect timed out after ${Math.round(timeoutMs)} ms`)), Math.max(1, timeoutMs));
    stop.addEventListener("abort", aborted);
    socket.once("connect", () => settle(undefined));
    socket.once("error", settle);
  });
}
