import { createHash } from "node:crypto";
import { basename } from "node:path";
import { decodeSafetensors, type NamedTensor } from "../safetensors/format.js";
import type { CheckpointBackend } from "./backend.js";
import { CheckpointFileMissingError, CorruptCheckpointError } from "./errors.js";
import { gangFile, gangProblem, parseGangRecord } from "./gang.js";
import { checkpointName } from "./layout.js";
import { weightsSha256 } from "./snapshot.js";
import { manifestName, maxManifestBytes, modelFile, optimizerFile, parseManifest, type Manifest } from "./manifest.js";

export interface LoadedCheckpoint {
  path: string;
  manifest: Manifest;
  weights: NamedTensor[];
  optimizerTensors: NamedTensor[];
  /** All files, the manifest included, as a save reports it. */
  bytes: number;
}

/**
 * Reads and verifies one checkpoint: manifest schema and digest, the step against the
 * directory name and the weights' metadata, every file's size (before reading) and sha256,
 * the safetensors headers. Content problems throw CorruptCheckpointError (its
 * CheckpointFileMissingError for a file that is not there at all), I/O StorageError: the store
 * quarantines for the one and stops for the other.
 */
export async function readVerified(backend: CheckpointBackend, path: string): Promise<LoadedCheckpoint> {
  const corrupt = (why: string, missing?: boolean) => new (missing ? CheckpointFileMissingError : CorruptCheckpointError)(`${path}: ${why}`);
  const ckpt = backend.nameOf(path);
  const manifestBytes = await backend.readFile(ckpt, manifestName, { max: maxManifestBytes }, corrupt);
  let manifest: Manifest;
  try {
    manifest = parseManifest(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes)));
  } catch (err) {
    throw corrupt(`invalid manifest: ${(err as Error).message}`);
  }
  const named = checkpointName.exec(basename(ckpt));
  if (named && Number(named[1]) !== manifest.step) throw corrupt(`manifest step ${manifest.step} is not the directory's ${Number(named[1])}`);
  if (named?.[2] !== undefined && Number(named[2]) !== manifest.attempt) {
    throw corrupt(`manifest attempt ${manifest.attempt} is not the directory's ${named[2]}`);
  }
  const files: Record<string, Buffer> = {};
  for (const [name, expected] of Object.entries(manifest.files)) {
    if (name.includes("/") || name.startsWith(".") || name === manifestName) throw corrupt(`manifest names an unsafe file ${JSON.stringify(name)}`);
    const bytes = await backend.readFile(ckpt, name, { exact: expected.bytes, max: Number.MAX_SAFE_INTEGER }, corrupt);
    if (createHash("sha256").update(bytes).digest("hex") !== expected.sha256) throw corrupt(`${name}: sha256 mismatch`);
    files[name] = bytes;
  }
  const decode = (name: string) => {
    const bytes = files[name];
    if (bytes === undefined) throw corrupt(`manifest lists no ${name}`);
    try {
      return decodeSafetensors(bytes);
    } catch (err) {
      throw corrupt(`${name}: ${(err as Error).message}`);
    }
  };
  const model = decode(modelFile);
  if (model.metadata.step !== String(manifest.step)) throw corrupt(`${modelFile} is of step ${model.metadata.step}, the manifest says ${manifest.step}`);
  checkGang(manifest, files[gangFile], model.tensors, corrupt);
  const optimizer = decode(optimizerFile);
  const bytes = Object.values(files).reduce((n, f) => n + f.byteLength, manifestBytes.byteLength);
  return { path, manifest, weights: model.tensors, optimizerTensors: optimizer.tensors, bytes };
}

/**
 * A gang checkpoint (manifest worldSize) loads only with every rank's part, each of the
 * manifest's step and of exactly the weights loaded; gang.json without a world size is as wrong.
 */
function checkGang(manifest: Manifest, record: Buffer | undefined, weights: NamedTensor[], corrupt: (why: string) => Error): void {
  if (manifest.worldSize === undefined) {
    if (record !== undefined) throw corrupt(`${gangFile} in a checkpoint whose manifest records no gang`);
    return;
  }
  if (record === undefined) throw corrupt(`a gang checkpoint of ${manifest.worldSize} ranks whose manifest lists no ${gangFile}`);
  let problem: string | undefined;
  try {
    const parsed = parseGangRecord(record);
    problem =
      parsed.worldSize === manifest.worldSize
        ? gangProblem(parsed, { step: manifest.step, weightsSha256: weightsSha256(weights) })
        : `${gangFile} is of a world of ${parsed.worldSize}, the manifest says ${manifest.worldSize}`;
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem) throw corrupt(`gang checkpoint: ${problem}`);
}
