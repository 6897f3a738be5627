import type { TrainerEnv } from "../config/env.js";
import type { TrainingConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { Collective } from "./collective.js";

/**
 * A gang of one: every collective is the identity, with nothing to wait for. A single pod's
 * run never calls it on the step path (it keeps its own optimizer step, train/session.ts);
 * it is here so that a run always has a Collective.
 */
class SoloCollective implements Collective {
  readonly rank = 0;
  readonly worldSize = 1;
  allReduceSum(data: Float32Array): Promise<Float32Array> {
    return Promise.resolve(data.slice());
  }
  broadcast(data: Uint8Array | undefined): Promise<Uint8Array> {
    if (data === undefined) return Promise.reject(new Error("broadcast: the root has no data"));
    return Promise.resolve(data);
  }
  gather(data: Uint8Array): Promise<Uint8Array[]> {
    return Promise.resolve([data]);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The one place the gang's transport is plugged in: the ranks of this pod's gang, connected.
 * World size 1 needs no transport. The TCP transport (formation from the peers file, ring
 * all-reduce) is wired here when it lands; until then a gang refuses to start.
 */
export function openCollective(env: TrainerEnv, _config: TrainingConfig, _log: Logger): Promise<Collective> {
  if (env.gang.worldSize === 1) return Promise.resolve(new SoloCollective());
  return Promise.reject(new Error(`a gang of ${env.gang.worldSize}: the gang transport is not wired into this trainer yet`));
}
