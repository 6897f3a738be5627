/**
 * Property tests (fast-check) for everything that reads bytes from a checkpoint volume: the
 * safetensors codec, the manifest, and CheckpointStore over mutated checkpoint directories.
 * Codec and manifest cases end in a result or a clear refusal, never another exception. Each
 * mutated checkpoint directory ends in the one outcome its mutation class deserves (see
 * `deserved`): never another exception, never a hang, never a silent start from 0.
 *
 * Seeded: FUZZ_SEED (default printed below) reproduces a run; FUZZ_RUNS scales the number of
 * cases (`make test` runs a few seconds' worth, `make fuzz` as many as asked).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { CheckpointsUnusableError, StorageError } from "../../trainer/src/checkpoint/errors.js";
import { parseManifest, sealManifest } from "../../trainer/src/checkpoint/manifest.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedTensor } from "../../trainer/src/safetensors/format.js";
import { faultyReadIo } from "./helpers/faulty-io.js";
import { fakeSnapshot, store } from "./helpers/snapshots.js";
import { tempDir } from "./helpers/trainer-process.js";

const seed = Number(process.env.FUZZ_SEED ?? 20261130);
const runs = Number(process.env.FUZZ_RUNS ?? 100);
console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_RUNS=${runs}`);
const params = (scale: number) => ({ seed, numRuns: Math.max(1, Math.round(runs * scale)), endOnFailure: true });

const outcomes = new Map<string, number>();
const count = (kind: string) => outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
let crashes = 0;
let hangs = 0;
let silentFreshStarts = 0;
after(() => {
  const cases = [...outcomes.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: ${cases} cases; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; crashes ${crashes}, hangs ${hangs}, silent restarts from scratch ${silentFreshStarts}`);
});

const tensorArb: fc.Arbitrary<NamedTensor> = fc
  .record({
    name: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty")),
    dtype: fc.constantFrom("F32" as const, "I32" as const),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .filter((t) => t.name !== "__metadata__")
  .chain((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const values = t.dtype === "F32" ? fc.float32Array({ minLength: n, maxLength: n }) : fc.int32Array({ minLength: n, maxLength: n });
    return values.map((data) => ({ ...t, data }) as NamedTensor);
  });
const tensorsArb = fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 5 });
const metadataArb = fc.option(fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined });

/** Decoding either returns tensors whose byte length is dtype x shape, or throws SafetensorsError. */
function decodeOutcome(bytes: Uint8Array): "decoded" | "refused" {
  try {
    for (const t of decodeSafetensors(bytes).tensors) {
      assert.equal(t.data.byteLength, t.shape.reduce((a, b) => a * b, 1) * 4, t.name);
    }
    count("codec: decoded");
    return "decoded";
  } catch (err) {
    if (!(err instanceof SafetensorsError)) {
      crashes++;
      throw err;
    }
    count("codec: refused with SafetensorsError");
    return "refused";
  }
}

test("safetensors: every encoded set of tensors decodes to the same tensors", () => {
  fc.assert(
    fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
      const decoded = decodeSafetensors(Buffer.concat(encodeSafetensors(tensors, metadata)));
      // In written order; empty tensors share an offset, so only their set is compared.
      const view = (ts: NamedTensor[]) => ts.map((t) => [t.name, t.dtype, t.shape, [...t.data]] as const);
      const nonEmpty = (ts: NamedTensor[]) => view(ts.filter((t) => t.data.length > 0));
      assert.deepEqual(nonEmpty(decoded.tensors), nonEmpty(tensors));
      const byName = (ts: NamedTensor[]) => view(ts).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      assert.deepEqual(byName(decoded.tensors), byName(tensors));
      assert.deepEqual({ ...decoded.metadata }, { ...metadata });
      count("codec: round trip");
    }),
    params(2),
  );
});

test("safetensors: random bytes and mutated files decode to consistent tensors or a SafetensorsError, nothing else", () => {
  const mutated = fc
    .tuple(tensorsArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat()))
    .map(([tensors, flips, cut]) => {
      const bytes = new Uint8Array(Buffer.concat(encodeSafetensors(tensors)));
      // Half the flips land in the tensor data, where decoding must still succeed.
      const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
      for (const [at, mask] of flips) {
        const inData = at % 2 === 0 && bytes.length > dataStart;
        bytes[inData ? dataStart + (at % (bytes.length - dataStart)) : at % bytes.length]! ^= mask;
      }
      return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
    });
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => void decodeOutcome(bytes)), params(5));
});

test("manifest: any change to a sealed manifest's fields is refused; the sealed one parses", () => {
  const sealed = sealManifest({ ...fakeSnapshot(7).meta, formatVersion: 2, createdAt: new Date(0).toISOString(), attempt: 1, claim: null, files: {} });
  assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(sealed))), sealed);
  const keys = Object.keys(sealed);
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
      const changed = { ...sealed, [key]: value };
      if (JSON.stringify(changed) === JSON.stringify(sealed)) return;
      assert.throws(() => parseManifest(JSON.parse(JSON.stringify(changed))), Error);
      count("manifest: changed field refused");
    }),
    params(3),
  );
});

/** A directory with checkpoints 10 and 20, made once and copied for each case. */
let template: string | undefined;
async function freshDir(): Promise<string> {
  if (template === undefined) {
    template = await tempDir("fuzz-template-");
    for (const step of [10, 20]) await store(template).save(fakeSnapshot(step), undefined);
  }
  const dir = await tempDir("fuzz-case-");
  await rm(dir, { recursive: true });
  await cp(template, dir, { recursive: true });
  return dir;
}

const files = ["manifest.json", "model.safetensors", "optimizer.safetensors"] as const;
const manifestFields = Object.keys(JSON.parse(JSON.stringify(sealManifest({ ...fakeSnapshot(1).meta, formatVersion: 2, createdAt: new Date(0).toISOString(), attempt: null, claim: null, files: {} })))) as string[];

type Mutation =
  | { kind: "bitflip"; file: (typeof files)[number]; at: number; bit: number }
  | { kind: "truncate"; file: (typeof files)[number]; at: number }
  | { kind: "manifest field"; field: string; value: fc.JsonValue }
  | { kind: "extra file"; name: string }
  | { kind: "symlink" | "fifo" | "directory"; file: (typeof files)[number] }
  | { kind: "io error"; code: "EACCES" | "EIO" | "ENOSPC"; file: (typeof files)[number] | "listing" };

const fileArb = fc.constantFrom(...files);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("bitflip" as const), file: fileArb, at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), file: fileArb, at: fc.nat() }),
  fc.record({ kind: fc.constant("manifest field" as const), field: fc.constantFrom(...manifestFields), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant("extra file" as const), name: fc.constantFrom("notes.txt", ".hidden", "model.safetensors.bak") }),
  fc.record({ kind: fc.constantFrom("symlink" as const, "fifo" as const, "directory" as const), file: fileArb }),
  fc.record({ kind: fc.constant("io error" as const), code: fc.constantFrom("EACCES" as const, "EIO" as const, "ENOSPC" as const), file: fc.constantFrom(...files, "listing" as const) }),
);

async function mutate(ckpt: string, m: Mutation): Promise<void> {
  if (m.kind === "io error") return; // injected through the seam
  if (m.kind === "extra file") return writeFile(join(ckpt, m.name), "extra");
  if (m.kind === "manifest field") {
    const manifest = JSON.parse(await readFile(join(ckpt, "manifest.json"), "utf8"));
    manifest[m.field] = m.value;
    return writeFile(join(ckpt, "manifest.json"), JSON.stringify(manifest));
  }
  const path = join(ckpt, m.file);
  if (m.kind === "bitflip") {
    const bytes = await readFile(path);
    bytes[m.at % bytes.length]! ^= 1 << m.bit;
    return writeFile(path, bytes);
  }
  if (m.kind === "truncate") {
    const size = (await readFile(path)).length;
    return truncate(path, m.at % size);
  }
  await writeFile(`${path}.real`, await readFile(path));
  await rm(path);
  if (m.kind === "symlink") await symlink(`${path}.real`, path);
  else if (m.kind === "fifo") execFileSync("mkfifo", [path]);
  else await mkdir(path);
}

type Outcome = "loaded the newest checkpoint" | "quarantined and fell back" | "refused: StorageError";

/**
 * The one right outcome of a mutation of checkpoint 20 while checkpoint 10 is intact: the
 * generator knows which it deserves. Content that no longer proves itself (a flipped or cut
 * byte, a changed field, something else in a file's place) is corrupt: quarantined, and the
 * intact older checkpoint is what loads. An I/O error is not corruption: a StorageError,
 * nothing quarantined. A change that leaves what the manifest says as it was, or a file the
 * manifest does not list, changes nothing the loader trusts: the newest loads.
 */
function deserved(m: Mutation, original: { manifestText: string; manifest: Record<string, unknown> }, mutatedManifest: Buffer | undefined): Outcome {
  switch (m.kind) {
    case "io error":
      return "refused: StorageError";
    case "extra file":
      return "loaded the newest checkpoint";
    case "manifest field":
      return JSON.stringify(m.value) === JSON.stringify(original.manifest[m.field]) ? "loaded the newest checkpoint" : "quarantined and fell back";
    case "bitflip":
      if (m.file === "manifest.json") return sameJson(mutatedManifest!, original.manifestText) ? "loaded the newest checkpoint" : "quarantined and fell back";
      return "quarantined and fell back"; // every data file's sha256 is in the manifest
    case "truncate":
    case "symlink":
    case "fifo":
    case "directory":
      return "quarantined and fell back";
  }
}

/** Whether flipped manifest bytes still hold the same JSON value (say, in insignificant whitespace). */
function sameJson(bytes: Buffer, text: string): boolean {
  try {
    return JSON.stringify(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))) === JSON.stringify(JSON.parse(text));
  } catch {
    return false;
  }
}

/** What a case ended in; another exception, a fresh start or a hang fails it outright. */
async function resumeOutcome(dir: string, m: Mutation): Promise<Outcome | `refused: ${string}`> {
  const { io } = faultyReadIo((op, path) => {
    if (m.kind !== "io error") return undefined;
    if (m.file === "listing") return op === "readdir" ? m.code : undefined;
    return path.endsWith(`ckpt-00000020/${m.file}`) ? m.code : undefined;
  });
  const s = store(dir, { readIo: io, readRetryDelaysMs: [0] });
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((r) => (timer = setTimeout(() => r("hang"), 20_000)));
  const result = await Promise.race([s.resumePoint({ allowFreshStart: false }).then((loaded) => ({ loaded }), (error: unknown) => ({ error })), hang]);
  clearTimeout(timer);
  if (result === "hang") {
    hangs++;
    assert.fail(`resumePoint hung on ${JSON.stringify(m)}`);
  }
  if ("error" in result) {
    if (result.error instanceof StorageError || result.error instanceof CheckpointsUnusableError) return `refused: ${result.error.name}`;
    crashes++;
    throw result.error;
  }
  const loaded = result.loaded;
  if (loaded === undefined) {
    silentFreshStarts++;
    assert.fail(`a silent start from step 0 after ${JSON.stringify(m)}`);
  }
  const expected = fakeSnapshot(loaded.manifest.step).weights.map((w) => [...w.data]);
  assert.deepEqual(loaded.weights.map((w) => [...w.data]), expected, "the loaded checkpoint holds its own step's values");
  if (loaded.manifest.step === 20) return "loaded the newest checkpoint";
  assert.equal(loaded.manifest.step, 10);
  return "quarantined and fell back";
}

/** What quarantine/ holds: nothing, or the newest checkpoint set aside. */
async function quarantined(dir: string): Promise<string[]> {
  return readdir(join(dir, "quarantine")).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
}

test("CheckpointStore: each mutation of the newest checkpoint, an older one intact, ends in the one outcome its class deserves", { timeout: 600_000 }, async () => {
  const byClass = new Map<string, Map<string, number>>();
  await fc.assert(
    fc.asyncProperty(mutationArb, async (m) => {
      const dir = await freshDir();
      const ckpt = join(dir, "ckpt-00000020");
      const manifestText = await readFile(join(ckpt, "manifest.json"), "utf8");
      await mutate(ckpt, m);
      const mutatedManifest = m.kind === "bitflip" && m.file === "manifest.json" ? await readFile(join(ckpt, "manifest.json")) : undefined;
      const want = deserved(m, { manifestText, manifest: JSON.parse(manifestText) as Record<string, unknown> }, mutatedManifest);
      const got = await resumeOutcome(dir, m);
      const cls = m.kind === "io error" ? `io error ${m.code}` : m.kind;
      const tally = byClass.get(cls) ?? new Map<string, number>();
      tally.set(got, (tally.get(got) ?? 0) + 1);
      byClass.set(cls, tally);
      count(`store: ${got}`);
      assert.equal(got, want, `${JSON.stringify(m)} deserved "${want}"`);
      const aside = await quarantined(dir);
      if (want === "quarantined and fell back") assert.ok(aside.length === 1 && aside[0]!.startsWith("ckpt-00000020-"), `the newest set aside: ${aside.join(", ")}`);
      else assert.deepEqual(aside, [], "nothing quarantined: an I/O error or a harmless change is no corruption");
      await rm(dir, { recursive: true, force: true });
    }),
    params(0.5),
  );
  console.log(`fuzz: store outcomes per mutation class ${JSON.stringify(Object.fromEntries([...byClass].sort().map(([k, v]) => [k, Object.fromEntries(v)])))}`);
});
