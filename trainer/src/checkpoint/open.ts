import type { BucketLocation, CheckpointLocation } from "@resumable/protocol";
import type { TrainerEnv } from "../config/env.js";
import type { Logger } from "../log.js";
import { DirectoryBackend } from "./backends/directory/directory.js";
import { ObjectBackend } from "./backends/object/object.js";
import { ObjectStoreError } from "./backends/object/object-store.js";
import { credentialsFromDirectory, S3ObjectStore } from "./backends/object/s3.js";
import { StorageRefusedError } from "./errors.js";
import { Fence } from "./fence.js";
import { ownerOf } from "./owner.js";
import { CheckpointStore } from "./store.js";

/**
 * The run's checkpoint store and fence, on the directory or the bucket the environment names,
 * owned by the run it names: the trainer's one choice of a backend.
 */
export async function openCheckpointStore(env: TrainerEnv, keep: number, log: Logger): Promise<{ store: CheckpointStore; fence: Fence | undefined }> {
  const owner = ownerOf(env);
  // readEnv requires a location of rank 0 and of a single pod: only a gang's other ranks lack one.
  if (!env.checkpointLocation) throw new Error(`rank ${env.gang.rank} has no checkpoint location: only rank 0 opens the checkpoint store`);
  const backend = await openBackend(env.checkpointLocation, log);
  const fence = env.attempt === undefined ? undefined : new Fence(backend.fenceStorage(), env.attempt, { owner });
  return { store: new CheckpointStore({ backend, keep, log, fence, owner }), fence };
}

/** The trainer's one branch on where checkpoints go: a third kind of store is a third case. */
async function openBackend(location: CheckpointLocation, log: Logger): Promise<DirectoryBackend | ObjectBackend> {
  switch (location.kind) {
    case "volume":
      return new DirectoryBackend({ dir: location.directory, log });
    case "bucket": {
      const backend = new ObjectBackend(await bucketStore(location));
      log.info({ location: backend.location, endpoint: location.endpoint ?? "AWS S3" }, "checkpoints go to object storage");
      return backend;
    }
  }
}

async function bucketStore(b: BucketLocation): Promise<S3ObjectStore> {
  let credentials;
  if (b.credentialsDir !== undefined) {
    try {
      credentials = await credentialsFromDirectory(b.credentialsDir);
    } catch (err) {
      if (err instanceof ObjectStoreError) throw new StorageRefusedError(err.details.url, err.details.code, err.message);
      throw err;
    }
  }
  return S3ObjectStore.create({ bucket: b.bucket, prefix: b.prefix, endpoint: b.endpoint, region: b.region, credentials });
}
