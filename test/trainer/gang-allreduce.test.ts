import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Prng } from "../../trainer/src/data/prng.js";
import type { MeshCollective, AllReduceAlgorithm } from "../../trainer/src/gang/mesh.js";
import { soloCollective } from "../../trainer/src/gang/mesh.js";
import { inProcessGang, liveHandles } from "./helpers/gang.js";

const seed = Number(process.env.GANG_SEED ?? 20261205);
console.log(`gang all-reduce property test: GANG_SEED=${seed}`);
const prng = Prng.fromSeed(seed);

/** Values spread over many magnitudes and signs, so any change of summation order changes bits. */
function randomVector(length: number): Float32Array {
  const v = new Float32Array(length);
  for (let i = 0; i < length; i++) v[i] = ((prng.nextUint32() / 2 ** 32) - 0.5) * 2 ** (prng.nextBelow(40) - 20);
  return v;
}

/** The documented association, computed plainly in float32 (Math.fround after each addition). */
function expectedSum(inputs: Float32Array[], algorithm: AllReduceAlgorithm): Float32Array {
  const n = inputs.length;
  const length = inputs[0]!.length;
  const out = new Float32Array(length);
  for (let c = 0; c < n; c++) {
    const begin = Math.floor((c * length) / n);
    const end = Math.floor(((c + 1) * length) / n);
    for (let i = begin; i < end; i++) {
      // ring: chunk c from rank c round the ring; star: rank order.
      const order = Array.from({ length: n }, (_, k) => (algorithm === "ring" ? (c + k) % n : k));
      let acc = inputs[order[0]!]![i]!;
      for (const r of order.slice(1)) acc = Math.fround(acc + inputs[r]![i]!);
      out[i] = acc;
    }
  }
  return out;
}

const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");

async function reduceOnce(gang: MeshCollective[], inputs: Float32Array[]): Promise<Float32Array[]> {
  const copies = inputs.map((v) => new Float32Array(v));
  const results = await Promise.all(gang.map((c, r) => c.allReduceSum(inputs[r]!)));
  inputs.forEach((v, r) => assert.equal(bits(v), bits(copies[r]!), `rank ${r}'s input was modified`));
  return results;
}

for (const algorithm of ["ring", "star"] as const) {
  describe(`${algorithm} all-reduce`, () => {
    const gangs: MeshCollective[][] = [];
    after(async () => {
      await Promise.all(gangs.flat().map((c) => c.close()));
    });

    for (let n = 1; n <= 5; n++) {
      it(`gives every one of ${n} ranks the same bits, in the documented order, again on a rerun (lengths below, at and above N, odd)`, async () => {
        const gang = await inProcessGang(n, { algorithm });
        gangs.push(gang);
        for (const length of [0, 1, n - 1, n, n + 1, 7, 97, 1001, 10_007]) {
          if (length < 0) continue;
          const inputs = gang.map(() => randomVector(length));
          const first = await reduceOnce(gang, inputs);
          const second = await reduceOnce(gang, inputs);
          const want = bits(expectedSum(inputs, algorithm));
          first.forEach((v, r) => assert.equal(bits(v), want, `rank ${r} of ${n}, length ${length}, seed ${seed}`));
          second.forEach((v, r) => assert.equal(bits(v), want, `rerun: rank ${r} of ${n}, length ${length}, seed ${seed}`));
        }
      });
    }
  });
}

describe("broadcast and gather", () => {
  it("carry a few MB from any root to every rank, and every rank's part to the root in rank order", async () => {
    const gang = await inProcessGang(3);
    try {
      const state = Buffer.alloc(3 * 1024 * 1024 + 3);
      for (let i = 0; i < state.length; i++) state[i] = prng.nextBelow(256);
      for (const root of [0, 2]) {
        const got = await Promise.all(gang.map((c) => c.broadcast(c.rank === root ? state : undefined, root)));
        got.forEach((b, r) => assert.ok(Buffer.from(b).equals(state), `rank ${r} got root ${root}'s bytes`));
        const parts = await Promise.all(gang.map((c) => c.gather(Buffer.from(`part of rank ${c.rank}`), root)));
        parts.forEach((p, r) => {
          if (r === root) assert.deepEqual(p?.map((b) => Buffer.from(b).toString()), ["part of rank 0", "part of rank 1", "part of rank 2"]);
          else assert.equal(p, undefined);
        });
      }
    } finally {
      await Promise.all(gang.map((c) => c.close()));
    }
  });

  it("refuse a root that is not a rank, and a root with nothing to send", async () => {
    const solo = soloCollective();
    assert.throws(() => solo.broadcast(new Uint8Array(1), 1), /root 1 is not a rank of a world of 1/);
    await assert.rejects(solo.broadcast(undefined), /root but passed no data/);
    await solo.close();
  });
});

describe("a world of one", () => {
  it("needs no network: the all-reduce is a copy, broadcast and gather return the rank's own bytes", async () => {
    const solo = soloCollective();
    const v = randomVector(33);
    const sum = await solo.allReduceSum(v);
    assert.notEqual(sum, v);
    assert.equal(bits(sum), bits(v));
    assert.deepEqual(await solo.gather(new Uint8Array([1, 2])), [new Uint8Array([1, 2])]);
    assert.deepEqual(await solo.broadcast(new Uint8Array([3])), new Uint8Array([3]));
    await solo.close();
    await assert.rejects(solo.allReduceSum(v), { name: "PeerLostError" });
    assert.deepEqual(liveHandles().filter((h) => h.startsWith("TCP")), []);
  });
});

describe("vectors of different lengths", () => {
  it("end the gang with an error naming the rank and both lengths, not a mixed sum", async () => {
    const gang = await inProcessGang(2);
    const results = await Promise.allSettled([gang[0]!.allReduceSum(new Float32Array(10)), gang[1]!.allReduceSum(new Float32Array(12))]);
    assert.ok(results.every((r) => r.status === "rejected"));
    const messages = results.map((r) => String((r as PromiseRejectedResult).reason.message)).join("\n");
    assert.match(messages, /the ranks' vectors differ in length/);
    await Promise.all(gang.map((c) => c.close()));
  });
});
