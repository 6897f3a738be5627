/**
 * safetensors, written and read by our own code so PyTorch and Hugging Face tooling can open
 * our checkpoints: an 8-byte little-endian u64 header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the raw little-endian tensor bytes. Nothing read is ever evaluated: the header is
 * parsed as JSON and checked field by field, with every offset bounds-checked.
 */

export type DType = "F32" | "I32";

const dtypeBytes: Record<DType, number> = { F32: 4, I32: 4 };

export type TensorData = Float32Array | Int32Array;

export interface NamedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Same cap as the reference implementation: a larger header is malformed or hostile. */
export const maxHeaderBytes = 100 * 1024 * 1024;
const metadataKey = "__metadata__";

export class SafetensorsError extends Error {
  override readonly name = "SafetensorsError";
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Typed arrays use the host byte order and the format is little-endian.
  throw new Error("safetensors: big-endian hosts are not supported");
}

/**
 * The file as a list of chunks (header, then each tensor's bytes as a view, no copy), so a
 * 512 MB checkpoint is written without first being concatenated into one buffer.
 */
export function encodeSafetensors(tensors: NamedTensor[], metadata?: Record<string, string>): Uint8Array[] {
  // No prototype: a tensor named __proto__ is an own key like any other, not a prototype
  // assignment that silently drops it.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) header[metadataKey] = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === metadataKey || Object.hasOwn(header, t.name)) {
      throw new SafetensorsError(`duplicate or reserved tensor name ${JSON.stringify(t.name)}`);
    }
    const expected = elementCount(t.shape) * dtypeBytes[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new SafetensorsError(`${t.name}: ${t.data.byteLength} bytes for shape [${t.shape}] of ${t.dtype}`);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  // Pad with spaces (allowed by the format) so tensor data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return [prefix, headerBytes, ...tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

export interface DecodedSafetensors {
  tensors: NamedTensor[];
  metadata: Record<string, string>;
}

/** Parses and validates a whole file; throws SafetensorsError saying what is wrong. */
export function decodeSafetensors(file: Uint8Array): DecodedSafetensors {
  if (file.byteLength < 8) throw new SafetensorsError(`truncated: ${file.byteLength} bytes, less than the 8-byte length prefix`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(`header length ${headerLength} exceeds the ${maxHeaderBytes}-byte limit`);
  }
  const dataStart = 8 + Number(headerLength);
  if (dataStart > file.byteLength) {
    throw new SafetensorsError(`truncated: header of ${headerLength} bytes but the file has ${file.byteLength}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(file.subarray(8, dataStart));
  } catch {
    throw new SafetensorsError("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(header)) throw new SafetensorsError("header is not a JSON object");
  // JSON.parse keeps the last of duplicate keys: two entries for one tensor name would load
  // whichever came last, so the file is refused instead.
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw new SafetensorsError(`header has the key ${JSON.stringify(duplicate)} twice`);

  const metadata = parseMetadata(header[metadataKey]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== metadataKey)
    .map(([name, entry]) => parseEntry(name, entry));

  // Offsets must tile the data section exactly: sorted, contiguous, no overlap, nothing trailing.
  // Also the order tensors are returned in: the order they were written. Header key order is
  // not it (JS objects put integer-like names such as "4" first).
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of byOffset) {
    if (e.begin !== expectedBegin) {
      throw new SafetensorsError(
        `${e.name}: data_offsets begin at ${e.begin}, expected ${expectedBegin} (offsets must be contiguous and not overlap)`,
      );
    }
    expectedBegin = e.end;
  }
  const dataLength = file.byteLength - dataStart;
  if (expectedBegin !== dataLength) {
    throw new SafetensorsError(`tensors cover ${expectedBegin} bytes but the data section has ${dataLength} (truncated or trailing bytes)`);
  }

  const tensors = byOffset.map((e): NamedTensor => {
    // Copy: the file buffer's alignment is not guaranteed and a view would pin the whole file.
    // (Not file.slice: on a Buffer that is a view too.)
    const bytes = new Uint8Array(e.end - e.begin);
    bytes.set(file.subarray(dataStart + e.begin, dataStart + e.end));
    const data = e.dtype === "F32" ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer);
    return { name: e.name, dtype: e.dtype, shape: e.shape, data };
  });
  return { tensors, metadata };
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, entry: unknown): Entry {
  if (!isPlainObject(entry)) throw new SafetensorsError(`${name}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string" || !Object.hasOwn(dtypeBytes, dtype)) {
    throw new SafetensorsError(`${name}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(dtypeBytes).join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
    throw new SafetensorsError(`${name}: shape must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
    throw new SafetensorsError(`${name}: data_offsets must be two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = elementCount(shape) * dtypeBytes[dtype as DType];
  if (end < begin || end - begin !== expected) {
    throw new SafetensorsError(`${name}: data_offsets [${begin}, ${end}] do not hold ${expected} bytes for shape [${shape}] of ${dtype}`);
  }
  return { name, dtype: dtype as DType, shape, begin, end };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new SafetensorsError("__metadata__ must map strings to strings");
  }
  return value as Record<string, string>;
}

function elementCount(shape: number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new SafetensorsError(`shape [${shape}] is too large`);
  return n;
}

function isNonNegativeInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The first top-level key that occurs twice in a JSON object text already known to parse. */
function firstDuplicateKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === "\\" ? 2 : 1;
      const colon = /\s*:/y; // a key is a string followed by a colon
      colon.lastIndex = end + 1;
      if (depth === 1 && colon.test(json)) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = end;
    }
  }
  return undefined;
}
