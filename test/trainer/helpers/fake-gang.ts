import { PeerLostError, type Collective } from "../../../trainer/src/gang/collective.js";

/**
 * N ranks of a gang in one process, joined in memory: the n-th call of every rank is one
 * collective round, completed when all N have made it. The all-reduce sums in rank order
 * (rank 0 + rank 1 + ...) in float32, as a fixed reduction order must. A rank that closes, or
 * the injected loss, breaks the gang: every pending and later call rejects with PeerLostError,
 * as the TCP transport does within its bound. Ranks calling different operations in the same
 * round is a bug in the caller: the round rejects with an Error naming both.
 */
export class FakeGang {
  readonly ranks: Collective[];
  private readonly rounds: Round[] = [];
  private broken: PeerLostError | undefined;
  /** All-reduces each rank has made: what `loseAt` counts. */
  private readonly allReduces: number[];

  constructor(
    readonly worldSize: number,
    /** The `rank`'s `allReduce`-th all-reduce (0-based, the step index of this attempt) finds its peer lost. */
    private readonly loseAt?: { rank: number; allReduce: number },
  ) {
    this.allReduces = Array.from({ length: worldSize }, () => 0);
    this.ranks = Array.from({ length: worldSize }, (_, rank) => this.member(rank));
  }

  /** How many rounds completed: a test's evidence that the ranks met. */
  get completedRounds(): number {
    return this.rounds.filter((r) => r.done).length;
  }

  private member(rank: number): Collective {
    let calls = 0;
    const call = <T>(op: Op, input: unknown, root = 0) => this.join<T>(rank, calls++, op, input, root);
    return {
      rank,
      worldSize: this.worldSize,
      allReduceSum: (data) => {
        const n = this.allReduces[rank]!++;
        if (this.loseAt?.rank === rank && this.loseAt.allReduce === n) this.break(new PeerLostError((rank + 1) % this.worldSize, `injected: rank ${rank} lost its peer at all-reduce ${n}`));
        return call<Float32Array>("allReduceSum", data.slice());
      },
      broadcast: (data, root) => call<Uint8Array>("broadcast", data?.slice(), root),
      gather: (data, root) => call<Uint8Array[] | undefined>("gather", data.slice(), root),
      close: () => {
        this.break(new PeerLostError(rank, `rank ${rank} closed its connections`));
        return Promise.resolve();
      },
    };
  }

  private join<T>(rank: number, index: number, op: Op, input: unknown, root: number): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const round = (this.rounds[index] ??= { op, root, inputs: [], waiters: [], done: false });
    if (round.op !== op || round.root !== root) {
      const err = new Error(`collective round ${index}: rank ${rank} called ${op} (root ${root}), another rank ${round.op} (root ${round.root})`);
      round.waiters.forEach((w) => w.reject(err));
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      round.inputs[rank] = input;
      round.waiters[rank] = { resolve: resolve as (v: unknown) => void, reject };
      if (round.waiters.filter(Boolean).length < this.worldSize) return;
      round.done = true;
      round.waiters.forEach((w, r) => w.resolve(this.result(round, r)));
    });
  }

  private result(round: Round, rank: number): unknown {
    switch (round.op) {
      case "allReduceSum": {
        const inputs = round.inputs as Float32Array[];
        const sum = inputs[0]!.slice();
        for (const other of inputs.slice(1)) {
          if (other.length !== sum.length) throw new Error(`all-reduce of ${sum.length} and ${other.length} values`);
          for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + other[i]!;
        }
        return sum;
      }
      case "broadcast": {
        const data = round.inputs[round.root] as Uint8Array | undefined;
        if (!data) throw new Error(`broadcast: root ${round.root} gave no data`);
        return data.slice();
      }
      case "gather":
        return rank === round.root ? (round.inputs as Uint8Array[]).map((d) => d.slice()) : undefined;
    }
  }

  private break(err: PeerLostError): void {
    if (this.broken) return;
    this.broken = err;
    for (const round of this.rounds) if (!round.done) round.waiters.forEach((w) => w?.reject(err));
  }
}

type Op = "allReduceSum" | "broadcast" | "gather";

interface Round {
  op: Op;
  root: number;
  inputs: unknown[];
  waiters: { resolve: (v: unknown) => void; reject: (err: Error) => void }[];
  done: boolean;
}
