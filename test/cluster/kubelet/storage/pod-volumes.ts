// One pod's volumes, for its worker: set up before any container starts and retried with
// back-off while a source is missing (a ConfigMap not there yet, an unbound claim), as the
// kubelet's volume manager does; the downward API files rewritten when the pod's labels or
// annotations change.
import { JitteredBackoff, systemClock, type BackoffPolicy } from "@resumable/kube-runtime";
import type { ApiClient } from "../api/client.js";
import type { Pod } from "../api/types.js";
import type { Logger } from "../log.js";
import type { ObjectLookups } from "../pod/container/env.js";
import { VolumeError, type SourceContext } from "./volume-files.js";
import { prepareVolumes, refreshDownwardVolumes, type PreparedVolume } from "./volumes.js";

/** A volume that cannot be set up yet (a missing ConfigMap, an unbound claim): 1 s doubling to 30 s. */
const MOUNT_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 120_000 };

export interface PodVolumeDeps {
  api: ApiClient;
  lookups: ObjectLookups;
  log: Logger;
  hostIP: string;
  podDir: string;
  pod(): Pod;
  podIP(): string | undefined;
  /** A try that failed for a reason the next may not have: the worker logs it and posts the event. */
  failedMount(message: string): void;
}

export class PodVolumes {
  /** By volume name; empty until set up. */
  prepared = new Map<string, PreparedVolume>();

  constructor(private readonly deps: PodVolumeDeps) {}

  private context(): SourceContext {
    const { api, lookups, hostIP } = this.deps;
    return { pod: this.deps.pod(), api, lookups, rt: { podIP: this.deps.podIP() ?? "", hostIP } };
  }

  /** True once every volume is set up; false when `stop` ended the tries first. */
  async setUp(stop: AbortSignal): Promise<boolean> {
    const backoff = new JitteredBackoff(MOUNT_RETRY);
    while (!stop.aborted) {
      try {
        this.prepared = await prepareVolumes(this.context(), this.deps.podDir);
        // The pod may have changed while they were set up (an annotation patched right after
        // the pod got its IP, as a gang's peers are): its files show the newest pod, as the
        // kubelet's next sync would make them.
        this.refresh();
        return true;
      } catch (err) {
        if (!(err instanceof VolumeError)) throw err;
        this.deps.failedMount(err.message);
        await systemClock.sleep(backoff.next(), stop);
      }
    }
    return false;
  }

  /** Labels or annotations changed: the downward API volumes show it, as with the kubelet. */
  refresh(): void {
    try {
      const changed = refreshDownwardVolumes(this.context(), this.deps.podDir);
      if (changed.length > 0) this.deps.log.info({ volumes: changed }, "downward API volumes updated");
    } catch (err) {
      this.deps.log.warn({ err: String(err) }, "could not update downward API volumes");
    }
  }
}
