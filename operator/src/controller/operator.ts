import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CoordinationV1Api, Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { OperatorConfig } from "../config/config.js";
import { OperatorMetrics } from "../metrics/operator-metrics.js";
import { RunObserver } from "../metrics/run-observer.js";
import { startMetricsServer } from "../metrics/server.js";
import { reconcile } from "../reconcile/decide.js";
import { LeaderElector, WorkQueue, type RestartReason } from "@resumable/kube-runtime";
import { ClusterCache } from "./cluster-cache.js";
import { kubeClusterWriter, timedWriter } from "./cluster-writer.js";
import { Controller } from "./controller.js";
import { WorkloadCache } from "./workload-cache.js";
import { COMPONENT } from "./run-event.js";

/** No event or bookmark for this long restarts a watch (the apiserver bookmarks about once a minute). */
const WATCH_IDLE_TIMEOUT_MS = 150_000;

export interface RunningOperator {
  /** Resolves if leadership is lost: the process should exit and start over as a standby. */
  readonly lostLeadership: Promise<void>;
  /** Where /metrics, /healthz and /readyz are served (the port is chosen when configured as 0). */
  readonly metricsPort: number;
  /** Drains passes in flight, hands the Lease back, closes watches and the metrics server. */
  stop(): Promise<void>;
}

/**
 * Starts the caches and the metrics server at once (a standby keeps warm caches and
 * reports ready, so a takeover is quick), then the workers once this replica leads.
 */
export async function startOperator(config: OperatorConfig, kc: KubeConfig, logger: Logger): Promise<RunningOperator> {
  const watch = new Watch(kc);
  // client-node aborts a watch after 30 s without data (its private inactivity timeout), which
  // is shorter than the apiserver's bookmark period: leave that call to our idle watchdog.
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_IDLE_TIMEOUT_MS + 30_000;

  const elector = config.leaderElection.enabled
    ? new LeaderElector({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: config.leaderElection.namespace,
        name: config.leaderElection.name,
        identity: config.identity,
        logger,
      })
    : undefined;
  // The hooks below run only once the cache has started, after `metrics` exists.
  const queue = new WorkQueue({ onRetry: () => metrics.workqueueRetries.inc() });
  const watching = {
    kc,
    watch,
    namespaces: config.namespaces,
    logger,
    reflector: { idleTimeoutMs: WATCH_IDLE_TIMEOUT_MS },
    onWatchRestart: (resource: string, reason: RestartReason) => metrics.watchRestarts.inc({ resource, reason }),
  };
  const cache = new ClusterCache({ ...watching, ...(config.kueue ? { workloads: new WorkloadCache(watching) } : {}) });
  // Standbys keep warm caches (and queue keys, deduplicated, for when they lead) but report
  // no runs and no depth: summed over replicas, each run counts once.
  const isLeader = (): boolean => elector?.isLeader() ?? true;
  const metrics = new OperatorMetrics({
    runs: () => (isLeader() ? cache.runs() : []),
    queueDepth: () => (isLeader() ? queue.depth() : 0),
    isLeader,
    prices: config.settings.prices ?? {},
  });
  const controller = new Controller({
    cache,
    queue,
    writer: timedWriter(kubeClusterWriter(kc, COMPONENT), (labels) => metrics.apiWriteDuration.startTimer(labels)),
    reconcile,
    settings: config.settings,
    metrics,
    observer: new RunObserver(metrics),
    logger,
    instance: config.identity,
    workers: config.workers,
  });
  const lostLeadership = new Promise<void>((resolve) => elector?.onLost(resolve));

  const server: Server = await startMetricsServer({
    registry: metrics.registry,
    host: config.metrics.host,
    port: config.metrics.port,
    isReady: () => cache.isHealthy(),
  });
  controller.subscribe();
  cache.start();
  const metricsPort = (server.address() as AddressInfo).port;
  logger.info({ namespaces: config.namespaces.length > 0 ? config.namespaces : "all", metricsPort }, "watching");

  let stopping = false;
  // Not awaited on stop: it may wait forever for a sync or a Lease that never comes.
  void (async () => {
    await cache.waitForSync();
    if (elector && !(await elector.acquire())) return;
    if (stopping) return;
    controller.start();
    logger.info({ workers: config.workers }, "reconciling");
  })();

  return {
    lostLeadership,
    metricsPort,
    async stop() {
      stopping = true;
      // Drain first and only then hand the Lease back: a successor must not start while
      // a pass of ours is still writing.
      await controller.stop();
      await elector?.release();
      await cache.stop();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
