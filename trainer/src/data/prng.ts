/**
 * Our own seeded PRNG for the data order: tfjs shuffles with Math.random, which can be
 * neither seeded nor saved. xoshiro128** has 128 bits of state that fit a checkpoint as
 * four u32, and all arithmetic is 32-bit integer, so it is identical on every platform.
 */
export type PrngState = [number, number, number, number];

export class Prng {
  private s: Uint32Array;

  constructor(state: PrngState) {
    if (state.every((x) => x === 0)) throw new Error("prng: the all-zero state is invalid");
    this.s = Uint32Array.from(state);
  }

  static fromSeed(seed: number): Prng {
    let x = seed >>> 0;
    const state: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      state.push(mix32(x));
    }
    return new Prng(state as PrngState);
  }

  get state(): PrngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, n) without modulo bias (rejection sampling). */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`nextBelow(${n})`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

/** A well-mixed 32-bit value from several integers: used to derive per-step, per-layer seeds. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) h = mix32((h ^ (p >>> 0)) >>> 0);
  return h;
}

/** The murmur3 finalizer: a bijection on u32 with good avalanche. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
