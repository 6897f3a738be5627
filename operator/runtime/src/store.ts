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
}

/** The in-memory cache of one reflector, keyed by `namespace/name`. */
export class Store<T extends ObjectMeta> implements ReadonlyStore<T> {
  private items = new Map<string, T>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  upsert(obj: T): void {
    this.items.set(objectKey(obj), deepFreeze(obj));
  }

  delete(obj: T): void {
    this.items.delete(objectKey(obj));
  }

  /** Swaps in a full list at once, returning the objects that disappeared. */
  replace(objs: T[]): T[] {
    const next = new Map(objs.map((o) => [objectKey(o), deepFreeze(o)] as const));
    const gone = [...this.items.entries()].filter(([key]) => !next.has(key)).map(([, obj]) => obj);
    this.items = next;
    return gone;
  }
}
