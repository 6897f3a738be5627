import { Prng, type PrngState } from "./prng.js";

/** Where the data order stands; saved in every checkpoint. */
export interface DataPosition {
  epoch: number;
  /** Examples of this epoch already consumed. */
  positionInEpoch: number;
  /** The PRNG state at the start of this epoch: the epoch's permutation is regenerated from it. */
  epochPrngState: PrngState;
}

/**
 * Hands out batches of example indices, one seeded permutation per epoch. An epoch ends when
 * fewer than batchSize examples remain (the remainder is dropped), so every batch is full.
 */
export class DataOrder {
  private prng: Prng;
  private permutation: Uint32Array;
  private position: DataPosition;

  constructor(
    private readonly count: number,
    start: DataPosition,
  ) {
    this.position = { ...start, epochPrngState: [...start.epochPrngState] };
    this.prng = new Prng(start.epochPrngState);
    this.permutation = this.shuffle();
  }

  static fresh(count: number, seed: number): DataOrder {
    return new DataOrder(count, { epoch: 0, positionInEpoch: 0, epochPrngState: Prng.fromSeed(seed).state });
  }

  get current(): DataPosition {
    return { ...this.position, epochPrngState: [...this.position.epochPrngState] };
  }

  nextBatch(batchSize: number): Uint32Array {
    if (batchSize > this.count) throw new RangeError(`batch size ${batchSize} exceeds the ${this.count} examples`);
    if (this.position.positionInEpoch + batchSize > this.count) {
      this.position = { epoch: this.position.epoch + 1, positionInEpoch: 0, epochPrngState: this.prng.state };
      this.permutation = this.shuffle();
    }
    const begin = this.position.positionInEpoch;
    this.position.positionInEpoch += batchSize;
    return this.permutation.slice(begin, begin + batchSize);
  }

  /** Fisher-Yates with our PRNG; advances it, leaving the next epoch's starting state. */
  private shuffle(): Uint32Array {
    const p = Uint32Array.from({ length: this.count }, (_, i) => i);
    for (let i = this.count - 1; i > 0; i--) {
      const j = this.prng.nextBelow(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

export function stepsPerEpoch(count: number, batchSize: number): number {
  return Math.floor(count / batchSize);
}
