import type { CoreV1Event, V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL, RANK_LABEL, RUN_LABEL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { checkpointClaimName, isAlive } from "../model/observe.js";
import { locationIndexKeys, overlapLookups, podLocation, storageLocation } from "../model/storage-claims.js";
import { customObjectSource, eventSource, isUnchanged, nodeSource, objectKey, type ObjectMeta, podSource, type Priority, pvcSource, type ReadonlyStore, Reflector, splitKey, stripManagedFields, type ReflectorOptions, type ResourceSource } from "@resumable/kube-runtime";
import { changePriority, isHeartbeatOnly, trimNode } from "./change-priority.js";
import { runKeyOf } from "./run-keys.js";
import type { CacheOptions } from "./cache-options.js";
import type { WorkloadCache } from "./workload-cache.js";
import type { QueueWorkload } from "../model/kueue.js";

export interface ClusterCacheOptions extends CacheOptions {
  /** Kueue's Workloads (--kueue): started, synced and stopped with the rest. */
  workloads?: WorkloadCache;
}

type Lifecycle = Pick<Reflector<ObjectMeta>, "start" | "stop" | "waitForSync" | "isHealthy">;

/** The reflectors of one scope: a namespace, or "" for all namespaces. */
interface Scope {
  runs: Reflector<TrainingRun>;
  pods: Reflector<V1Pod>;
  pvcs: Reflector<V1PersistentVolumeClaim>;
  /** The kubelet's FailedMount events about pods: a Secret or ConfigMap a volume needs is missing. */
  mountFailures: Reflector<CoreV1Event>;
}

/**
 * A pod waiting for a missing Secret or ConfigMap volume says so only in FailedMount events
 * (its status shows ContainerCreating): watched by reason, so routine events never reach the cache.
 */
const MOUNT_FAILURES = "involvedObject.kind=Pod,reason=FailedMount";

/** Ended pods remembered per run and rank after their deletion: the current attempt's and a spare. */
const ENDED_GONE_PER_RANK = 2;

/**
 * Everything the controller reads, from watches only: TrainingRuns, their pods (by label)
 * and the PVCs of the watched namespaces, plus every node. PVCs are watched without a
 * selector because spec.checkpoint.claimName may name a claim the operator did not create.
 */
export class ClusterCache {
  private readonly scopes = new Map<string, Scope>();
  private readonly nodeReflector: Reflector<V1Node>;
  /** Per run key, the last state of its pods deleted after they ended, newest last. */
  private readonly endedGone = new Map<string, V1Pod[]>();
  private readonly workloadCache: WorkloadCache | undefined;

  constructor(options: ClusterCacheOptions) {
    this.workloadCache = options.workloads;
    const make = <T extends ObjectMeta>(resource: string, source: ResourceSource<T>, extra: Pick<ReflectorOptions<T>, "transform" | "indexers"> = {}): Reflector<T> =>
      new Reflector<T>(source, {
        ...options.reflector,
        watch: options.watch,
        logger: options.logger,
        onRestart: (reason) => options.onWatchRestart?.(resource, reason),
        ...extra,
      });
    const { kc } = options;
    const namespaces = options.namespaces.length > 0 ? options.namespaces : [""];
    for (const ns of namespaces) {
      const namespace = ns || undefined;
      this.scopes.set(ns, {
        runs: make(PLURAL, customObjectSource<TrainingRun>(kc, { group: API_GROUP, version: API_VERSION, plural: PLURAL }, { namespace }), { indexers: RUN_INDEXERS }),
        pods: make("pods", podSource(kc, { namespace, labelSelector: RUN_LABEL }), { indexers: POD_INDEXERS }),
        pvcs: make("persistentvolumeclaims", pvcSource(kc, { namespace })),
        mountFailures: make("events", eventSource(kc, { namespace, fieldSelector: MOUNT_FAILURES }), { transform: stripManagedFields, indexers: EVENT_INDEXERS }),
      });
    }
    this.nodeReflector = make("nodes", nodeSource(kc), { transform: trimNode });
    for (const scope of this.scopes.values()) {
      scope.pods.onEvent((change) => {
        if (change.type === "Delete" && !isAlive(change.object)) this.rememberEnded(change.object);
      });
      scope.runs.onEvent((change) => {
        if (change.type === "Delete") this.endedGone.delete(objectKey(change.object));
      });
    }
  }

  /**
   * Keeps an ended pod's last state after its deletion, until the run's next attempts push it
   * out: the pass that records its end may run only after it is gone (see Observed).
   */
  private rememberEnded(pod: V1Pod): void {
    const key = runKeyOf(pod);
    if (key === undefined) return;
    this.endedGone.set(key, keepEnded(this.endedGone.get(key) ?? [], pod));
  }

  /** The last state of the run's pods deleted after they ended (Observed.endedPodsGone). */
  endedPodsGone(namespace: string, name: string): V1Pod[] {
    return this.endedGone.get(objectKey({ metadata: { namespace, name } })) ?? [];
  }

  private reflectors(): Lifecycle[] {
    const all: Lifecycle[] = [this.nodeReflector, ...(this.workloadCache ? [this.workloadCache] : [])];
    for (const scope of this.scopes.values()) all.push(scope.runs, scope.pods, scope.pvcs, scope.mountFailures);
    return all;
  }

  private scopeOf(namespace: string): Scope | undefined {
    return this.scopes.get(namespace) ?? this.scopes.get("");
  }

  /**
   * Calls `listener` with the key of every run a change may concern (the run itself, the
   * run of a pod or PVC, the runs with pods on a changed node) and how soon it wants a pass:
   * see `changePriority`. A node change that only renews its heartbeat concerns no run.
   */
  onRunChange(listener: (runKey: string, priority: Priority) => void): void {
    const notify = (key: string | undefined, priority: Priority): void => {
      if (key) listener(key, priority);
    };
    this.workloadCache?.onRunChange(listener);
    for (const scope of this.scopes.values()) {
      scope.runs.onEvent((change) => {
        const priority = changePriority(change);
        notify(objectKey(change.object), priority);
        // A run that appears, ends, goes away or moves may hand a checkpoint location to a
        // run waiting for it (StorageInUse), or take it: those runs decide again.
        if (isUnchanged(change)) return;
        const versions = change.type === "Apply" && change.old !== undefined ? [change.old, change.object] : [change.object];
        for (const version of versions) {
          for (const other of this.runsSharingStorage(version)) notify(objectKey(other), priority);
        }
      });
      scope.pods.onEvent((change) => {
        notify(runKeyOf(change.object), changePriority(change));
        // A trainer that stops lets a run waiting for its checkpoint location start.
        const stopped = change.type === "Delete" || (change.old !== undefined && isAlive(change.old) && !isAlive(change.object));
        if (!stopped) return;
        for (const run of this.sharing(scope.runs.store, change.object.metadata?.namespace ?? "", podLocation(change.object))) {
          if (run.metadata.name !== change.object.metadata?.labels?.[RUN_LABEL]) notify(objectKey(run), "urgent");
        }
      });
      scope.pvcs.onEvent((change) => {
        const pvc = change.object;
        const priority = changePriority(change);
        const key = runKeyOf(pvc);
        if (key) return notify(key, priority);
        // A claim named by spec.checkpoint.claimName carries neither label nor owner.
        const namespace = pvc.metadata?.namespace ?? "";
        for (const run of this.runsIn(namespace)) {
          if (checkpointClaimName(run) === pvc.metadata?.name) notify(objectKey(run), priority);
        }
      });
      scope.mountFailures.onEvent((change) => {
        const pod = change.object.involvedObject;
        notify(runKeyOf(scope.pods.store.get(objectKey({ metadata: { namespace: pod.namespace ?? "", name: pod.name ?? "" } })) ?? {}), changePriority(change));
      });
    }
    this.nodeReflector.onEvent((change) => {
      if (isHeartbeatOnly(change)) return;
      const priority = changePriority(change);
      for (const pod of this.podsOnNode(change.object.metadata?.name ?? "")) notify(runKeyOf(pod), priority);
    });
  }

  start(): void {
    for (const reflector of this.reflectors()) reflector.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors().map((r) => r.stop()));
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.reflectors().map((r) => r.waitForSync()));
  }

  /** Every reflector synced and watching: readiness. */
  isHealthy(): boolean {
    return this.reflectors().every((r) => r.isHealthy());
  }

  run(key: string): TrainingRun | undefined {
    return this.scopeOf(splitKey(key).namespace)?.runs.store.get(key);
  }

  runs(): TrainingRun[] {
    return [...this.scopes.values()].flatMap((scope) => scope.runs.store.list());
  }

  /**
   * The other runs of the run's namespace whose checkpoint location overlaps its own (the
   * same PVC, or a bucket prefix containing or inside its own), from the location index.
   */
  runsSharingStorage(run: TrainingRun): TrainingRun[] {
    const namespace = run.metadata.namespace ?? "";
    const runs = this.scopeOf(namespace)?.runs.store;
    return runs === undefined ? [] : this.sharing(runs, namespace, storageLocation(run)).filter((other) => other.metadata.name !== run.metadata.name);
  }

  /** The trainer pods of other runs (or of runs now gone) that write where the run would. */
  podsSharingStorage(run: TrainingRun): V1Pod[] {
    const namespace = run.metadata.namespace ?? "";
    const pods = this.scopeOf(namespace)?.pods.store;
    return pods === undefined ? [] : this.sharing(pods, namespace, storageLocation(run)).filter((pod) => pod.metadata?.labels?.[RUN_LABEL] !== run.metadata.name);
  }

  private sharing<T extends ObjectMeta>(store: ReadonlyStore<T>, namespace: string, location: readonly string[] | undefined): T[] {
    if (location === undefined) return [];
    const found = new Map<string, T>();
    for (const lookup of overlapLookups(location)) {
      for (const object of store.byIndex(BY_LOCATION, `${namespace}/${lookup}`)) found.set(objectKey(object), object);
    }
    return [...found.values()];
  }

  private runsIn(namespace: string): TrainingRun[] {
    return (this.scopeOf(namespace)?.runs.store.list() ?? []).filter((run) => run.metadata.namespace === namespace);
  }

  /** Pods labelled with the run's name in its namespace, any phase. */
  podsOfRun(namespace: string, name: string): V1Pod[] {
    return this.scopeOf(namespace)?.pods.store.byIndex(BY_RUN, objectKey({ metadata: { namespace, name } })) ?? [];
  }

  pvc(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.scopeOf(namespace)?.pvcs.store.get(objectKey({ metadata: { namespace, name } }));
  }

  /** The FailedMount events about one pod (by its uid: a pod of the same name before it says nothing about it). */
  mountFailuresOf(namespace: string, pod: V1Pod): CoreV1Event[] {
    const uid = pod.metadata?.uid;
    return uid === undefined ? [] : (this.scopeOf(namespace)?.mountFailures.store.byIndex(BY_POD_UID, uid) ?? []);
  }

  /** Kueue's Workloads of these names in the namespace, where they are watched. */
  workloadsOf(namespace: string, names: readonly string[]): QueueWorkload[] {
    return this.workloadCache?.workloads(namespace, names) ?? [];
  }

  nodes(): ReadonlyMap<string, V1Node> {
    return new Map(this.nodeReflector.store.list().map((node) => [node.metadata?.name ?? "", node]));
  }

  /** The cached trainer pods (of every run) bound to a node. */
  podsOnNode(nodeName: string): V1Pod[] {
    return [...this.scopes.values()].flatMap((scope) => scope.pods.store.byIndex(BY_NODE, nodeName));
  }
}

const BY_RUN = "run";
const BY_NODE = "node";
const BY_LOCATION = "location";
/** Runs by checkpoint location (storage-claims.ts), per namespace: a shared location is found without a scan. */
const RUN_INDEXERS = {
  [BY_LOCATION]: (run: TrainingRun) => locationIndexKeys(storageLocation(run)).map((key) => `${run.metadata.namespace ?? ""}/${key}`),
};
/**
 * Every reconcile reads one run's pods, and every node heartbeat the pods on that node: with
 * a thousand runs, filtering the whole pod cache for each was a scan per event (seen in the
 * 1,000-run profile). The indexes answer both with a lookup.
 */
const POD_INDEXERS = {
  // The pods reflector selects on RUN_LABEL, so runKeyOf is the label's run, as objectKey.
  [BY_RUN]: (pod: V1Pod) => {
    const run = runKeyOf(pod);
    return run ? [run] : [];
  },
  [BY_NODE]: (pod: V1Pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []),
  [BY_LOCATION]: (pod: V1Pod) => locationIndexKeys(podLocation(pod)).map((key) => `${pod.metadata?.namespace ?? ""}/${key}`),
};

const BY_POD_UID = "podUid";
const EVENT_INDEXERS = {
  [BY_POD_UID]: (event: CoreV1Event) => (event.involvedObject.uid ? [event.involvedObject.uid] : []),
};

/**
 * The run's remembered ended pods with `pod` added: the newest ENDED_GONE_PER_RANK per rank
 * (a single pod is one rank), so every rank of a gang's ended attempt keeps the summary its
 * outcome is read from, and a long run's memory stays bounded by its ranks.
 */
export function keepEnded(kept: readonly V1Pod[], pod: V1Pod): V1Pod[] {
  const rank = (p: V1Pod) => p.metadata?.labels?.[RANK_LABEL];
  const others = kept.filter((p) => p.metadata?.uid !== pod.metadata?.uid);
  const sameRank = others.filter((p) => rank(p) === rank(pod));
  const dropped = new Set(sameRank.slice(0, Math.max(0, sameRank.length - (ENDED_GONE_PER_RANK - 1))));
  return [...others.filter((p) => !dropped.has(p)), pod];
}
