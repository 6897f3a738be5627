// Kueue's Workloads (workloads.kueue.x-k8s.io, read-only), watched with --kueue: what a queued
// run's pod group waits for, and why Kueue evicted it (model/kueue.ts reads them). Only where
// the CRD is installed: on a cluster without Kueue the cache stays empty and healthy, and the
// operator runs as it would without the flag. Runs in a queue are followed through their pods'
// gates and Kueue's mark on them either way; the Workloads add Kueue's own reasons.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { customObjectSource, objectKey, type ObjectMeta, type Priority, Reflector } from "@resumable/kube-runtime";
import type { CacheOptions } from "./cache-options.js";
import type { QueueWorkload } from "../model/kueue.js";
import { changePriority } from "./change-priority.js";

const GROUP = "kueue.x-k8s.io";
const VERSION = "v1beta2";
const PLURAL = "workloads";

type Workload = QueueWorkload & ObjectMeta & { metadata?: { ownerReferences?: { kind?: string }[] } };

/**
 * The run a pod group's Workload belongs to: Kueue names it after the group, `<run>-<attempt>`
 * (queue.ts), and makes the group's pods its owners. Undefined for any other Workload.
 */
export function runKeyOfWorkload(workload: Workload): string | undefined {
  const name = workload.metadata?.name;
  const namespace = workload.metadata?.namespace;
  const run = /^(.+)-[1-9][0-9]*$/.exec(name ?? "")?.[1];
  if (!namespace || run === undefined || !(workload.metadata?.ownerReferences ?? []).some((o) => o.kind === "Pod")) return undefined;
  return objectKey({ metadata: { namespace, name: run } });
}

export class WorkloadCache {
  private reflectors: Reflector<Workload>[] = [];
  private readonly listeners: ((runKey: string, priority: Priority) => void)[] = [];
  private ready: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: CacheOptions) {}

  /** Looks for the CRD first: the reflectors start only where Workloads are served. */
  start(): void {
    this.ready ??= this.startWhereServed();
  }

  private async startWhereServed(): Promise<void> {
    const { kc, logger } = this.options;
    const [first] = this.options.namespaces;
    const resource = { group: GROUP, version: VERSION, plural: PLURAL, limit: 1 };
    try {
      // In a watched namespace when there are some: the operator's RBAC is a Role there.
      const custom = kc.makeApiClient(CustomObjectsApi);
      await (first === undefined ? custom.listClusterCustomObject(resource) : custom.listNamespacedCustomObject({ ...resource, namespace: first }));
    } catch (err) {
      const code = (err as { code?: number }).code;
      // Not installed (404): nothing to watch. Anything else (403: no RBAC) is said, not fatal.
      logger.info({ code }, code === 404 ? "Kueue's Workload CRD is not installed: not watching Workloads" : "cannot list Kueue's Workloads: not watching them");
      return;
    }
    if (this.stopped) return;
    const namespaces = this.options.namespaces.length > 0 ? this.options.namespaces : [""];
    this.reflectors = namespaces.map((ns) => {
      const reflector = new Reflector<Workload>(customObjectSource<Workload>(kc, { group: GROUP, version: VERSION, plural: PLURAL }, { namespace: ns || undefined }), {
        ...this.options.reflector,
        watch: this.options.watch,
        logger,
        onRestart: (reason) => this.options.onWatchRestart?.(PLURAL, reason),
      });
      reflector.onEvent((change) => {
        const key = runKeyOfWorkload(change.object);
        if (key !== undefined) for (const listener of this.listeners) listener(key, changePriority(change));
      });
      reflector.start();
      return reflector;
    });
    logger.info("watching Kueue's Workloads");
    await Promise.all(this.reflectors.map((r) => r.waitForSync()));
  }

  onRunChange(listener: (runKey: string, priority: Priority) => void): void {
    this.listeners.push(listener);
  }

  async waitForSync(): Promise<void> {
    await this.ready;
  }

  isHealthy(): boolean {
    return this.reflectors.every((r) => r.isHealthy());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** The Workloads of these names (an attempt's pod groups) in the namespace, those cached. */
  workloads(namespace: string, names: readonly string[]): QueueWorkload[] {
    return names.flatMap((name) => {
      const key = objectKey({ metadata: { namespace, name } });
      const found = this.reflectors.map((r) => r.store.get(key)).find((w) => w !== undefined);
      return found === undefined ? [] : [found];
    });
  }
}
