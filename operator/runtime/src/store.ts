import { objectKey, type ObjectMeta } from "./object-key.js";

/**
 * Freezes an object and everything it holds, so a caller that edits a cached object by
 * mistake fails loudly in strict mode instead of corrupting the cache. (A Date's time can
 * still be set through its methods; treat those as read-only too.)
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A read-only view of what a reflector has seen. Objects returned are frozen. */
export interface ReadonlyStore<T> {
  get(key: string): T | undefined;
  list(): T[];
  /** The objects whose index `name` holds `value` (client-go's ByIndex); [] for an unknown value. */
  byIndex(name: string, value: string): T[];
}

/**
 * Index functions by name (client-go's Indexers): each maps an object to the values it is
 * found under, e.g. a pod to its node's name. A reader that would filter the whole cache on
 * every reconcile (the pods of one run among thousands) looks up its few objects instead.
 */
export type Indexers<T> = Record<string, (obj: T) => readonly string[]>;

/** The in-memory cache of one reflector, keyed by `namespace/name`, with its indexes kept in step. */
export class Store<T extends ObjectMeta> implements ReadonlyStore<T> {
  private items = new Map<string, T>();
  /** index name → value → keys of the objects under it. */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly indexers: Indexers<T> = {}) {
    for (const name of Object.keys(indexers)) this.indexes.set(name, new Map());
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`store: no index named "${name}" (known: ${[...this.indexes.keys()].join(", ") || "none"})`);
    return [...(index.get(value) ?? [])].map((key) => this.items.get(key)!);
  }

  upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, deepFreeze(obj));
    this.index(key, obj);
  }

  delete(obj: T): void {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.delete(key);
  }

  /** Swaps in a full list at once, returning the objects that disappeared. */
  replace(objs: T[]): T[] {
    const next = new Map(objs.map((o) => [objectKey(o), deepFreeze(o)] as const));
    const gone = [...this.items.entries()].filter(([key]) => !next.has(key)).map(([, obj]) => obj);
    this.items = next;
    for (const index of this.indexes.values()) index.clear();
    for (const [key, obj] of next) this.index(key, obj);
    return gone;
  }

  private index(key: string, obj: T): void {
    for (const [name, values] of this.entries(obj)) {
      const index = this.indexes.get(name)!;
      for (const value of values) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, values] of this.entries(obj)) {
      const index = this.indexes.get(name)!;
      for (const value of values) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private entries(obj: T): [string, readonly string[]][] {
    return Object.entries(this.indexers).map(([name, fn]) => [name, fn(obj)]);
  }
}
