// A seeded source of randomness for tests and benchmarks whose draws must reproduce from a
// printed seed: the goodput benchmark's disruption schedule, the scale benchmark's wave.

/** mulberry32: a small seeded PRNG, so a schedule reproduces from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
