import { systemClock, type Clock } from "./clock.js";
import { objectKey, type ObjectMeta } from "./object-key.js";
import { deepFreeze, Store, type Indexers, type ReadonlyStore } from "./store.js";
import { Watcher, type ResourceSource, type WatcherEvent, type WatcherOptions, type WatcherState } from "./watcher.js";

export interface ReflectorOptions<T extends ObjectMeta = ObjectMeta> extends WatcherOptions {
  /** Every this often, every cached object is handed to the listeners again; 0 turns it off. */
  resyncMs?: number;
  clock?: Clock;
  /**
   * Applied to every object before it is cached (client-go's SetTransform, controller-runtime's
   * DefaultTransform): drop what no reader needs, so a cache of thousands of objects stays
   * small. Default `stripManagedFields`; listeners and the store see only the result.
   */
  transform?: (obj: ObjectMeta) => void;
  /** Indexes the store keeps in step with every change (see `Store`), read with `store.byIndex`. */
  indexers?: Indexers<T>;
}

/**
 * Drops metadata.managedFields: server-side apply's bookkeeping, about 40 % of a pod's or a
 * TrainingRun's JSON as the apiserver sends it (measured at 1,000 runs), read by no controller.
 */
export function stripManagedFields(obj: ObjectMeta): void {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
}

/**
 * A change to the cache, as a listener sees it. `Apply` carries the cached object it
 * replaced (the same object on a resync; undefined for a new one); `Delete` the last state.
 */
export type Change<T> = { type: "Apply"; object: T; old: T | undefined } | { type: "Delete"; object: T };

/** True when an Apply brings nothing new: a relist or resync handing out what was cached. */
export function isUnchanged<T extends ObjectMeta>(change: Change<T>): boolean {
  return change.type === "Apply" && change.old?.metadata?.resourceVersion === change.object.metadata?.resourceVersion;
}

/**
 * A watcher and the store it fills: an in-memory copy of one resource collection.
 * A relist is swapped into the store at once, so readers never see half a list, and
 * objects missing from it are handed out as deleted. Listeners get every change, and every
 * object again after each relist and each resync: a level-based consumer only cares which
 * object to look at (`onChange`), one that tracks transitions reads the typed `Change`.
 */
export class Reflector<T extends ObjectMeta> {
  readonly store: ReadonlyStore<T>;
  private readonly cache: Store<T>;
  private readonly watcher: Watcher<T>;
  private readonly listeners: ((change: Change<T>) => void)[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  /** The list being received, swapped in at InitDone. */
  private relisting: T[] | undefined;
  private synced = false;
  private loop: Promise<void> | undefined;
  private cancelResync: (() => void) | undefined;

  constructor(
    private readonly source: ResourceSource<T>,
    private readonly options: ReflectorOptions<T>,
  ) {
    this.cache = new Store<T>(options.indexers);
    this.store = this.cache;
    this.clock = options.clock ?? systemClock;
    this.watcher = new Watcher(source, { ...options, clock: this.clock }, (event) => this.receive(event));
  }

  get name(): string {
    return this.source.name;
  }

  get state(): WatcherState["phase"] {
    return this.watcher.state.phase;
  }

  /** True once a full list has been cached; stays true across later relists. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Synced and holding a live watch: what readiness means. */
  isHealthy(): boolean {
    return this.synced && this.watcher.state.phase === "watching";
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Hands `listener` the object of every change: which object to look at, not what happened. */
  onChange(listener: (obj: T) => void): void {
    this.onEvent((change) => listener(change.object));
  }

  /** Hands `listener` every change, typed. */
  onEvent(listener: (change: Change<T>) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.watcher.run();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.cancelResync?.();
    this.watcher.stop();
    await this.loop;
  }

  private receive(event: WatcherEvent<T>): void {
    if (event.type === "InitApply" || event.type === "Apply" || event.type === "Delete") (this.options.transform ?? stripManagedFields)(event.object);
    switch (event.type) {
      case "Init":
        this.relisting = [];
        return;
      case "InitApply":
        this.relisting?.push(event.object);
        return;
      case "InitDone":
        return this.swapIn(this.relisting ?? []);
      case "Apply": {
        const old = this.cache.get(objectKey(event.object));
        this.cache.upsert(event.object);
        return this.emit({ type: "Apply", object: event.object, old });
      }
      case "Delete":
        this.cache.delete(event.object);
        return this.emit({ type: "Delete", object: deepFreeze(event.object) });
    }
  }

  private swapIn(items: T[]): void {
    this.relisting = undefined;
    const before = new Map(this.cache.list().map((obj) => [objectKey(obj), obj] as const));
    const gone = this.cache.replace(items);
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    for (const object of gone) this.emit({ type: "Delete", object });
    for (const object of this.cache.list()) this.emit({ type: "Apply", object, old: before.get(objectKey(object)) });
  }

  private emit(change: Change<T>): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger.error({ resource: this.name, err }, "listener failed");
      }
    }
  }

  private scheduleResync(): void {
    const every = this.options.resyncMs ?? 600_000;
    if (every <= 0 || this.watcher.state.phase === "stopped") return;
    this.cancelResync = this.clock.setTimer(every, () => {
      if (this.synced) for (const object of this.cache.list()) this.emit({ type: "Apply", object, old: object });
      this.scheduleResync();
    });
  }
}
