import type { TrainingConfig } from "@resumable/protocol/reference-trainer";
import { PeerLostError, type Collective } from "./collective.js";
import { asFloat32, FRAME, type Link } from "./wire.js";

/**
 * How allReduceSum moves the vector. Both fix the reduction order by rank and chunk, so every
 * rank gets the same bits and a rerun the same bits again; they differ from each other in the
 * last bits (another association), so a run keeps one (gang.allReduce, not changed on resume
 * by the operator).
 * - ring: reduce-scatter then all-gather over N chunks (as NCCL and Horovod do). Chunk c is
 *   summed in ring order from rank c: ((x_c + x_c+1) + x_c+2) + ... + x_c-1. Each rank sends
 *   2(N-1)/N of the vector whatever N is.
 * - star: every rank sends its vector to rank 0, which sums in rank order (((x_0 + x_1) + x_2)
 *   + ...) and sends the sum back: rank 0 moves 2(N-1) vectors.
 * Ring is the default (gang.allReduce): it was faster at every N measured, and the gap grows
 * with N as star's rank 0 becomes the bottleneck. test/bench/allreduce.ts, 2026-12-05, the
 * default mlp's 398 KiB gradient, ranks as processes on loopback, 2 shared cores: N = 2 ring
 * 4.0 ms vs star 5.2 ms (0.78), N = 4 ring 6.7 ms vs star 18.0 ms (0.37).
 */
export type AllReduceAlgorithm = TrainingConfig["gang"]["allReduce"];

/** Chunk c of a vector of `length` split into `n`: [begin, end). Chunks may be empty (length < n). */
function chunk(length: number, n: number, c: number): [number, number] {
  return [Math.floor((c * length) / n), Math.floor(((c + 1) * length) / n)];
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A Collective over one connection per pair of ranks (gang/form.ts). With no peers (a world
 * of one) it needs no network at all: the training loop has one path for every N.
 * Calls run one at a time in the order they are made: every rank makes the same calls in the
 * same order, so each link carries the same sequence of messages on both of its ends, and each
 * frame carries its call's number so a gang whose ranks disagree stops instead of mixing data.
 */
export class MeshCollective implements Collective {
  private calls = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly links: ReadonlyMap<number, Link>,
    readonly algorithm: AllReduceAlgorithm = "ring",
  ) {
    if (links.size !== worldSize - 1) throw new Error(`rank ${rank} of ${worldSize} needs ${worldSize - 1} peers, got ${links.size}`);
  }

  allReduceSum(data: Float32Array): Promise<Float32Array> {
    return this.serial((call) => (this.algorithm === "ring" ? this.ring(call, data) : this.star(call, data)));
  }

  broadcast(data: Uint8Array | undefined, root = 0): Promise<Uint8Array> {
    this.checkRoot(root);
    return this.serial(async (call) => {
      if (this.rank !== root) return (await this.receive(root, call)).payload;
      if (data === undefined) throw new Error(`rank ${root} is the broadcast's root but passed no data`);
      await Promise.all(this.others().map((peer) => this.link(peer).send(FRAME.data, call, data)));
      return data;
    });
  }

  gather(data: Uint8Array, root = 0): Promise<Uint8Array[] | undefined> {
    this.checkRoot(root);
    return this.serial(async (call) => {
      if (this.rank !== root) {
        await this.link(root).send(FRAME.data, call, data);
        return undefined;
      }
      const parts: Uint8Array[] = [];
      for (let peer = 0; peer < this.worldSize; peer++) parts.push(peer === root ? data : (await this.receive(peer, call)).payload);
      return parts;
    });
  }

  async close(): Promise<void> {
    this.failure ??= new PeerLostError(undefined, `rank ${this.rank}'s gang transport is closed`);
    await Promise.all([...this.links.values()].map((link) => link.close(2000)));
  }

  private async ring(call: number, data: Float32Array): Promise<Float32Array> {
    const n = this.worldSize;
    const out = new Float32Array(data);
    if (n === 1) return out;
    const next = this.link((this.rank + 1) % n);
    const prevRank = (this.rank + n - 1) % n;
    const at = (c: number) => chunk(out.length, n, ((c % n) + n) % n);
    const exchange = async (sent: number, received: number) => {
      const [begin, end] = at(sent);
      const [rBegin, rEnd] = at(received);
      const [, frame] = await Promise.all([next.send(FRAME.data, call, bytesOf(out.subarray(begin, end))), this.receive(prevRank, call)]);
      return { incoming: this.floats(prevRank, frame.payload, rEnd - rBegin), target: out.subarray(rBegin, rEnd) };
    };
    // Reduce-scatter: after step s this rank holds chunk r-s-1 summed over ranks r-s-1..r.
    for (let s = 0; s < n - 1; s++) {
      const { incoming, target } = await exchange(this.rank - s, this.rank - s - 1);
      for (let i = 0; i < target.length; i++) target[i] = incoming[i]! + target[i]!;
    }
    // All-gather: the complete chunks go round once more, copied, not added.
    for (let s = 0; s < n - 1; s++) {
      const { incoming, target } = await exchange(this.rank + 1 - s, this.rank - s);
      target.set(incoming);
    }
    return out;
  }

  private async star(call: number, data: Float32Array): Promise<Float32Array> {
    if (this.rank !== 0) {
      await this.link(0).send(FRAME.data, call, bytesOf(data));
      return this.floats(0, (await this.receive(0, call)).payload, data.length);
    }
    const out = new Float32Array(data);
    // Rank order, not arrival order: the sum's bits do not depend on who was faster.
    for (let peer = 1; peer < this.worldSize; peer++) {
      const incoming = this.floats(peer, (await this.receive(peer, call)).payload, out.length);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + incoming[i]!;
    }
    await Promise.all(this.others().map((peer) => this.link(peer).send(FRAME.data, call, bytesOf(out))));
    return out;
  }

  /** Runs `op` after every earlier call, as call number `calls`; a failure ends the gang. */
  private serial<T>(op: (call: number) => Promise<T>): Promise<T> {
    const call = this.calls++;
    const run = async () => {
      if (this.failure) throw this.failure;
      try {
        return await op(call);
      } catch (err) {
        throw this.fail(err as Error);
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => {});
    return result;
  }

  /**
   * The first failure is the gang's: every link is cut, so the peers' pending calls end at once
   * too (a dead rank stops the whole gang well within the bound, not one hop per timeout).
   */
  private fail(err: Error): Error {
    this.failure ??= err;
    const reason = this.failure instanceof PeerLostError ? this.failure : new PeerLostError(undefined, this.failure.message);
    for (const link of this.links.values()) link.destroy(reason);
    return this.failure;
  }

  private async receive(peer: number, call: number) {
    const frame = await this.link(peer).receive();
    if (frame.kind !== FRAME.data || frame.call !== (call >>> 0)) {
      throw new Error(`rank ${peer} sent call ${frame.call} (kind ${frame.kind}) while rank ${this.rank} was in call ${call}: the ranks' collective calls differ`);
    }
    return frame;
  }

  private floats(peer: number, payload: Buffer, expected: number): Float32Array {
    if (payload.byteLength !== expected * 4) {
      throw new Error(`rank ${peer} sent ${payload.byteLength / 4} floats where rank ${this.rank} expected ${expected}: the ranks' vectors differ in length`);
    }
    return asFloat32(payload);
  }

  private link(peer: number): Link {
    return this.links.get(peer)!;
  }

  private others(): number[] {
    return Array.from({ length: this.worldSize }, (_, peer) => peer).filter((peer) => peer !== this.rank);
  }

  private checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) throw new RangeError(`root ${root} is not a rank of a world of ${this.worldSize}`);
  }
}

/** The Collective of a world of one: no network, identity all-reduce. */
export function soloCollective(algorithm: AllReduceAlgorithm = "ring"): Collective {
  return new MeshCollective(0, 1, new Map(), algorithm);
}
