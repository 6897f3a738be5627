import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeSafetensors, encodeSafetensors, maxHeaderBytes, SafetensorsError, type NamedTensor } from "../../trainer/src/safetensors/format.js";

const tensors: NamedTensor[] = [
  { name: "hidden/kernel", dtype: "F32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
  { name: "step", dtype: "I32", shape: [], data: Int32Array.from([42]) },
  { name: "empty", dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
];

function file(chunks: Uint8Array[]): Buffer {
  return Buffer.concat(chunks);
}

/** A file with a hand-written header and `dataBytes` bytes of data. */
function withHeader(header: unknown, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]);
}

test("round trip keeps names, dtypes, shapes, values and metadata; data starts 8-byte aligned", () => {
  const bytes = file(encodeSafetensors(tensors, { format: "pt" }));
  assert.equal(Number(bytes.readBigUInt64LE(0) + 8n) % 8, 0);
  const decoded = decodeSafetensors(bytes);
  assert.deepEqual(decoded.metadata, { format: "pt" });
  assert.deepEqual(decoded.tensors.map((t) => [t.name, t.dtype, t.shape, [...t.data]]), tensors.map((t) => [t.name, t.dtype, t.shape, [...t.data]]));
});

test("the header is the reference layout: u64 LE length, JSON with dtype, shape, data_offsets", () => {
  const bytes = file(encodeSafetensors(tensors.slice(0, 1)));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  assert.deepEqual(header, { "hidden/kernel": { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] } });
});

test("decoded tensors are copies, independent of the file buffer", () => {
  const bytes = file(encodeSafetensors(tensors));
  const decoded = decodeSafetensors(bytes);
  bytes.fill(0);
  assert.equal(decoded.tensors[0]!.data[5], -6.5);
});

const malformed: [string, () => Uint8Array, RegExp][] = [
  ["shorter than the length prefix", () => Buffer.alloc(5), /truncated/],
  ["truncated data", () => file(encodeSafetensors(tensors)).subarray(0, -3), /truncated/],
  ["truncated header", () => file(encodeSafetensors(tensors)).subarray(0, 20), /truncated/],
  [
    "absurd header length",
    () => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64LE(BigInt(maxHeaderBytes) + 1n);
      return b;
    },
    /exceeds/,
  ],
  ["header length 2^64-1", () => Buffer.from([255, 255, 255, 255, 255, 255, 255, 255, 0]), /exceeds/],
  [
    "overlapping offsets",
    () => withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12),
    /contiguous/,
  ],
  [
    "a gap between tensors",
    () => withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } }, 12),
    /contiguous/,
  ],
  ["offsets past the end", () => withHeader({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8), /data section/],
  ["trailing bytes", () => withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 8), /data section/],
  ["offsets disagreeing with the shape", () => withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8), /do not hold 12 bytes/],
  ["unsupported dtype", () => withHeader({ a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, 4), /unsupported dtype "F16"/],
  ["missing dtype", () => withHeader({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /unsupported dtype/],
  ["negative shape", () => withHeader({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /shape/],
  ["fractional offset", () => withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4.5] } }, 4), /data_offsets/],
  ["end before begin", () => withHeader({ a: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, 4), /do not hold/],
  ["header not an object", () => withHeader([1, 2], 0), /not a JSON object/],
  ["metadata not strings", () => withHeader({ __metadata__: { a: 1 } }, 0), /__metadata__/],
  [
    "header not JSON",
    () => {
      const b = Buffer.alloc(12);
      b.writeBigUInt64LE(4n);
      b.write("{no}", 8);
      return b;
    },
    /not valid JSON/,
  ],
];

for (const [what, make, message] of malformed) {
  test(`rejects a file with ${what}`, () => {
    assert.throws(() => decodeSafetensors(make()), (err: Error) => err.name === "SafetensorsError" && message.test(err.message));
  });
}

test("refuses to encode duplicate names or data that does not match the shape", () => {
  assert.throws(() => encodeSafetensors([tensors[0]!, tensors[0]!]), /duplicate/);
  assert.throws(() => encodeSafetensors([{ ...tensors[0]!, shape: [7] }]), /bytes for shape/);
});

function withRawHeader(header: string, data = new Uint8Array(0)): Uint8Array {
  const h = Buffer.from(header, "latin1");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([prefix, h, data]);
}

test("a header that is not valid UTF-8 is refused", () => {
  assert.throws(() => decodeSafetensors(withRawHeader('{"a\xff":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', new Uint8Array(4))), /not valid UTF-8/);
});

test("a header that is not an object is refused", () => {
  for (const h of ["[]", "1", '"x"', "null"]) assert.throws(() => decodeSafetensors(withRawHeader(h)), SafetensorsError, h);
});

test("a header naming one tensor twice is refused, not read as the last one", () => {
  const entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  assert.throws(() => decodeSafetensors(withRawHeader(`{"w":${entry}, "w" :${entry}}`, new Uint8Array(4))), /key "w" twice/);
});

test("a tensor named __proto__ round-trips like any other", () => {
  const tensors = [{ name: "__proto__", dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) }];
  const decoded = decodeSafetensors(Buffer.concat(encodeSafetensors(tensors)));
  assert.deepEqual(decoded.tensors.map((t) => [t.name, [...t.data]]), [["__proto__", [1, 2]]]);
});
