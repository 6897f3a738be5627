// What every cache of the controller is built with: the cluster, the watches' tuning, and where
// a watch restart is counted (the cluster cache and Kueue's Workloads alike).
import type { KubeConfig, Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ReflectorOptions, RestartReason } from "@resumable/kube-runtime";

export interface CacheOptions {
  kc: KubeConfig;
  watch: Pick<Watch, "watch">;
  /** Namespaces to watch; empty: all of them. */
  namespaces: readonly string[];
  logger: Logger;
  /** Tuning shared by every reflector (resync, idle timeout, backoff). */
  reflector?: Partial<Omit<ReflectorOptions, "watch" | "logger" | "onRestart" | "indexers">>;
  onWatchRestart?: (resource: string, reason: RestartReason) => void;
}
