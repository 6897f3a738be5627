/**
 * @resumable/trainer as a library: write your own tfjs training loop on the same checkpoint,
 * fencing and signal machinery the resumable-trainer CLI uses (see docs/trainer-protocol.md).
 */
export { FenceConflictError, type BackendCommit, type CheckpointBackend, type FenceStorage } from "./checkpoint/backend.js";
export { CheckpointsUnusableError, FencedError, StorageError } from "./checkpoint/errors.js";
export { Fence, isSuperseded } from "./checkpoint/fence.js";
export { checkpointDirName, commitLogFile } from "./checkpoint/layout.js";
export { openCheckpointStore } from "./checkpoint/open.js";
export { LocationOwnedError, type RunOwner } from "./checkpoint/owner.js";
export { manifestSchema, parseManifest, type Claim, type Manifest } from "./checkpoint/manifest.js";
export { weightsSha256, type TrainingSnapshot } from "./checkpoint/snapshot.js";
export { CheckpointStore, CorruptCheckpointError, type CommittedCheckpoint } from "./checkpoint/store.js";
export type { LoadedCheckpoint } from "./checkpoint/verify.js";
export { CheckpointWriter } from "./checkpoint/writer.js";
export { commitDirectory, type CommitRequest } from "./checkpoint/backends/directory/commit.js";
export { DirectoryBackend } from "./checkpoint/backends/directory/directory.js";
export { directoryFenceStorage, readClaims } from "./checkpoint/backends/directory/fence-directory.js";
export { fsStoreIo, type StoreIo } from "./checkpoint/backends/directory/store-io.js";
export { ObjectBackend } from "./checkpoint/backends/object/object.js";
export { ObjectStoreError, type ObjectStore } from "./checkpoint/backends/object/object-store.js";
export { credentialsFromDirectory, S3ObjectStore, type S3StoreConfig } from "./checkpoint/backends/object/s3.js";
export { ConfigError } from "./config-error.js";
export { DataOrder, type DataPosition } from "./data/order.js";
export { deriveSeed, Prng, type PrngState } from "./data/prng.js";
export { captureOptimizer, captureWeights, restoreOptimizer, restoreWeights } from "./model/state.js";
export { exportModel } from "./model/export.js";
export { emitSummary, type Summary } from "./report/summary.js";
export { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedTensor } from "./safetensors/format.js";
export { installStopHandlers, StopRequest } from "./signals/stop.js";
