import { setTimeout as sleep, setImmediate as yieldToEventLoop } from "node:timers/promises";
import { checkpointRequestSchema, type CheckpointRequest } from "@resumable/protocol";
import { GangDisagreementError, gangPartSchema, type GangRecord } from "../checkpoint/gang.js";
import { parseManifest } from "../checkpoint/manifest.js";
import { weightsSha256 } from "../checkpoint/snapshot.js";
import type { CommittedCheckpoint } from "../checkpoint/store.js";
import type { LoadedCheckpoint } from "../checkpoint/verify.js";
import type { Collective } from "../gang/collective.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../safetensors/format.js";
import type { Control } from "./data-parallel.js";
import type { TrainingSession } from "./session.js";

// What the ranks of a gang exchange besides each step's all-reduce: the state rank 0 restored
// (before the first step), every rank's part at a save, and how rank 0's final save ended.

/**
 * The state rank 0 starts from, for the other ranks: the checkpoint's own encoding (its
 * manifest and its two safetensors files) behind a small JSON header; empty for a fresh start
 * (every rank builds the same seeded model, and the first save's digests prove it).
 */
export function encodeStart(loaded: LoadedCheckpoint | undefined): Uint8Array {
  if (!loaded) return new Uint8Array(0);
  const model = Buffer.concat(encodeSafetensors(loaded.weights));
  const optimizer = Buffer.concat(encodeSafetensors(loaded.optimizerTensors));
  const header = Buffer.from(JSON.stringify({ path: loaded.path, bytes: loaded.bytes, manifest: loaded.manifest, model: model.byteLength }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.byteLength);
  return Buffer.concat([length, header, model, optimizer]);
}

export function decodeStart(bytes: Uint8Array): LoadedCheckpoint | undefined {
  if (bytes.byteLength === 0) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = 4 + buffer.readUInt32BE(0);
  const header = JSON.parse(buffer.subarray(4, headerEnd).toString("utf8")) as { path: string; bytes: number; manifest: unknown; model: number };
  const modelEnd = headerEnd + header.model;
  return {
    path: header.path,
    bytes: header.bytes,
    manifest: parseManifest(header.manifest),
    weights: decodeSafetensors(buffer.subarray(headerEnd, modelEnd)).tensors,
    optimizerTensors: decodeSafetensors(buffer.subarray(modelEnd)).tensors,
  };
}

/**
 * Every rank's part of the save of `step` to rank 0, with the checkpoint request (a reclaim
 * notice) the rank answers with it, if any: rank 0 gets the gang's record and those requests,
 * the others undefined.
 */
export async function gatherParts(
  collective: Collective,
  step: number,
  weights: NamedTensor[],
  request: CheckpointRequest | undefined,
): Promise<{ record: GangRecord; requests: CheckpointRequest[] } | undefined> {
  const part = { rank: collective.rank, step, worldSize: collective.worldSize, weightsSha256: weightsSha256(weights) };
  const gathered = await collective.gather(Buffer.from(JSON.stringify({ part, request: request ?? null })), 0);
  if (!gathered) return undefined;
  const received = gathered.map((bytes, rank) => {
    let envelope: { part?: unknown; request?: unknown };
    try {
      envelope = JSON.parse(Buffer.from(bytes).toString("utf8")) as typeof envelope;
    } catch (err) {
      throw new GangDisagreementError(`rank ${rank} sent an unreadable part: ${(err as Error).message}`);
    }
    const parsed = gangPartSchema.safeParse(envelope.part);
    if (!parsed.success) throw new GangDisagreementError(`rank ${rank} sent an invalid part: ${parsed.error.message}`);
    return { part: parsed.data, request: checkpointRequestSchema.nullable().catch(null).parse(envelope.request) };
  });
  return {
    record: { worldSize: collective.worldSize, parts: received.map((r) => r.part) },
    requests: received.flatMap((r) => (r.request ? [r.request] : [])),
  };
}

/** How rank 0's final save ended, told to every rank: what it committed, or why it did not. */
export type FinalOutcome = { committed: Omit<CommittedCheckpoint, "time"> & { time: string } } | { error: string };

export async function shareFinal(collective: Collective, outcome: FinalOutcome | undefined): Promise<FinalOutcome> {
  const bytes = await collective.broadcast(outcome && Buffer.from(JSON.stringify(outcome)), 0);
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as FinalOutcome;
}

export interface GangLoopHooks {
  /** This rank's side of the step about to run, read once per step. */
  want: (nextStep: number) => Control;
  onStep: (loss: number) => void;
  /** The gang agreed to save `step`: every rank takes part (the gather), rank 0 writes. */
  save: (step: number) => Promise<void>;
  stepDelayMs?: number;
}

/**
 * Steps until `untilStep` or until the gang agrees to stop. No rank leaves on its own: its stop
 * (or rank 0's fatal save error) rides on the next step's all-reduce, and every rank sees the
 * same sum, so every rank stops, and saves, after the same step.
 */
export async function gangLoop(session: TrainingSession, collective: Collective, untilStep: number, hooks: GangLoopHooks): Promise<void> {
  let stop = false;
  while (session.step < untilStep && !stop) {
    if (hooks.stepDelayMs) await sleep(hooks.stepDelayMs);
    const { loss, control } = await session.gangStep(collective, hooks.want(session.step + 1));
    hooks.onStep(loss);
    if (control.checkpoint) await hooks.save(session.step);
    stop = control.stop;
    // Lets signals, background writes and the metrics server run between steps.
    await yieldToEventLoop();
  }
}
