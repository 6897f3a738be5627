import { CorruptCheckpointError } from "../checkpoint/errors.js";
import type { CheckpointStore } from "../checkpoint/store.js";
import type { LoadedCheckpoint } from "../checkpoint/verify.js";
import { checkResumable } from "../config/compat.js";
import { ConfigError } from "../config-error.js";
import type { TrainingConfig } from "../config/schema.js";
import type { Dataset } from "../data/dataset.js";
import type { Logger } from "../log.js";
import { TrainingSession } from "./session.js";

export interface RestoreOptions {
  config: TrainingConfig;
  data: Dataset;
  /** The tfjs backend the session runs on. */
  backend: string;
  /** --resume-from: this checkpoint and no other; undefined: the newest that loads. */
  resumeFrom: string | undefined;
  allowFreshStart: boolean;
  log: Logger;
}

/**
 * The model restored from the newest checkpoint that loads and restores (or --resume-from);
 * undefined for a fresh start. Load and restore are one "try this candidate" step: content the
 * model rejects sends the search on to the previous checkpoint, like content that fails
 * verification.
 */
export async function restoreNewest(store: CheckpointStore, opts: RestoreOptions): Promise<{ loaded: LoadedCheckpoint; training: TrainingSession } | undefined> {
  const { config, data, backend, log } = opts;
  let training: TrainingSession | undefined;
  const accept = async (loaded: LoadedCheckpoint) => {
    const changed = checkResumable(loaded.manifest.config, config, loaded.path);
    if (changed.length > 0) log.info({ fields: changed }, "config changed since the checkpoint; these changes are allowed");
    training = await restoredSession(config, data, backend, loaded);
  };
  const loaded =
    opts.resumeFrom !== undefined ? await loadNamed(store, opts.resumeFrom, accept) : await store.resumePoint({ allowFreshStart: opts.allowFreshStart, accept });
  // accept restored every checkpoint the search returns: the session is the loaded one's.
  return loaded ? { loaded, training: training! } : undefined;
}

export async function restoredSession(config: TrainingConfig, data: Dataset, backend: string, loaded: LoadedCheckpoint): Promise<TrainingSession> {
  const session = new TrainingSession(config, data, backend);
  try {
    await session.restore(loaded);
    return session;
  } catch (err) {
    session.dispose();
    throw new CorruptCheckpointError(`${loaded.path}: the model cannot restore it: ${(err as Error).message}`);
  }
}

/**
 * --resume-from: a checkpoint whose content does not load is the caller's mistake (exit 2),
 * never quarantined; an I/O error stays a storage error.
 */
async function loadNamed(store: CheckpointStore, path: string, accept: (loaded: LoadedCheckpoint) => Promise<void>): Promise<LoadedCheckpoint> {
  try {
    const loaded = await store.load(path);
    await accept(loaded);
    return loaded;
  } catch (err) {
    if (!(err instanceof CorruptCheckpointError)) throw err;
    throw new ConfigError(`--resume-from ${path}: ${(err as Error).message}`);
  }
}
