import { pino } from "pino";
import { DirectoryBackend, type DirectoryBackendOptions } from "../../../trainer/src/checkpoint/backends/directory/directory.js";
import { weightsSha256, type TrainingSnapshot } from "../../../trainer/src/checkpoint/snapshot.js";
import { CheckpointStore, type StoreOptions } from "../../../trainer/src/checkpoint/store.js";
import { trainingConfigSchema } from "../../../trainer/src/config/schema.js";

export const silentLog = pino({ level: "silent" });

export const testConfig = trainingConfigSchema.parse({ dataset: "synthetic", totalSteps: 100 });

/** A small snapshot whose values encode the step, so a test can tell which one it loaded. */
export function fakeSnapshot(step: number, kind: "periodic" | "final" = "periodic"): TrainingSnapshot {
  return {
    weights: [
      { name: "hidden/kernel", dtype: "F32", shape: [4, 2], data: new Float32Array(8).fill(step) },
      { name: "hidden/bias", dtype: "F32", shape: [2], data: new Float32Array(2).fill(-step) },
    ],
    optimizerTensors: [],
    meta: {
      step,
      epoch: 0,
      positionInEpoch: step,
      prngState: [1, 2, 3, 4],
      dropoutSeeds: "test",
      lossHistory: [[step, 1 / (step + 1)]],
      config: testConfig,
      configHash: "x",
      optimizer: { name: "sgd", iterations: step },
      backend: "cpu",
      kind,
    },
  };
}

/**
 * fakeSnapshot as a gang of `worldSize` saves it: weights filled with `value`, and every
 * rank's part agreeing with them (a test then spoils what it means to).
 */
export function gangSnapshot(step: number, worldSize: number, value = step): TrainingSnapshot {
  const snapshot = fakeSnapshot(step);
  snapshot.weights[0]!.data.fill(value);
  const digest = weightsSha256(snapshot.weights);
  snapshot.gang = { worldSize, parts: Array.from({ length: worldSize }, (_, rank) => ({ rank, step, worldSize, weightsSha256: digest })) };
  return snapshot;
}

/**
 * A store on the directory `dir` (with the directory's file-system seams if given), or on the
 * backend passed. Reads are retried without waiting unless a test passes its own waits.
 */
export function store(dir: string, overrides: Partial<StoreOptions> & Pick<DirectoryBackendOptions, "io" | "readIo"> = {}): CheckpointStore {
  const { io, readIo, ...rest } = overrides;
  const options = { keep: 3, log: silentLog, fence: undefined, readRetryDelaysMs: [0, 0, 0], ...rest };
  const backend = rest.backend ?? new DirectoryBackend({ dir, io, readIo, readRetryDelaysMs: options.readRetryDelaysMs, log: options.log });
  return new CheckpointStore({ ...options, backend });
}
