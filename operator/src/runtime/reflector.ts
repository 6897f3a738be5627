import type { Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { httpStatus } from "./api-errors.js";
import { JitteredBackoff } from "./backoff.js";
import { sleep, systemClock, withTimeout, type Clock } from "./clock.js";
import { deepFreeze, Store, type ObjectMeta, type ReadonlyStore } from "./store.js";

/** One page of a list call, items already in the cached form. */
export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken?: string;
}

/** What a reflector lists and watches: one resource type in one scope. */
export interface ResourceSource<T extends ObjectMeta> {
  /** Names the source in logs and metrics, e.g. `pods` or `pods/team-a`. */
  name: string;
  list(page: { limit: number; continueToken?: string }): Promise<ListPage<T>>;
  /** The collection's API path, e.g. `/api/v1/namespaces/team-a/pods`. */
  watchPath: string;
  labelSelector?: string;
  /**
   * Brings a watch event's object (plain JSON, string timestamps) to the form `list` returns,
   * so the cache holds one form whichever way an object arrived.
   */
  decodeWatched(raw: unknown): T;
}

/** Why a watch stopped: each one is a restart, counted for metrics. */
export type RestartReason = "error" | "expired" | "idle" | "closed";

export interface ReflectorOptions {
  /** client-node's Watch, bound to the cluster. */
  watch: Pick<Watch, "watch">;
  logger: Logger;
  pageSize?: number;
  /** No event or bookmark for this long means the watch is hung: restart it. */
  idleTimeoutMs?: number;
  /** Server-side watch timeout, drawn per watch from this range (client-go: 5–10 min). */
  watchTimeoutSeconds?: [number, number];
  /**
   * A list page that takes longer fails (and is retried with backoff): generated calls have
   * no timeout of their own, and a hung list would stall the reflector for good.
   */
  listTimeoutMs?: number;
  /** Every this often, every cached object is handed to the listeners again; 0 turns it off. */
  resyncMs?: number;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  clock?: Clock;
  onRestart?: (reason: RestartReason) => void;
}

export type ReflectorState = "starting" | "listing" | "watching" | "backoff" | "stopped";

/** kube-rs' watcher backoff: 0.8 s → 30 s, reset after 120 s without trouble. */
const defaultBackoff = { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 };

/** A 410 Gone, as a failed request or as an ERROR event: our resourceVersion is too old. */
function isGone(err: unknown): boolean {
  return httpStatus(err) === 410;
}

class WatchEventError extends Error {
  constructor(readonly code: number | undefined, message: string) {
    super(message);
  }
}

/**
 * Keeps an in-memory copy of one resource collection: list, then watch from the list's
 * resourceVersion. Unlike client-node's informer it never gives up:
 * - 410 Gone (as a response or an ERROR event) → relist;
 * - any other failure → retry the watch from the last resourceVersion after a jittered
 *   exponential backoff;
 * - no event or bookmark within the idle timeout → restart the watch;
 * - the server ending a watch normally → watch again at once.
 * Listeners get the object of every change (the last known state for a deletion), and
 * every object again after each relist and each resync: they should only care about
 * which object to look at, never about what happened to it.
 */
export class Reflector<T extends ObjectMeta> {
  readonly store: ReadonlyStore<T>;
  private readonly cache = new Store<T>();
  private readonly listeners: ((obj: T) => void)[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly backoff: JitteredBackoff;
  private resourceVersion: string | undefined;
  private synced = false;
  private current: ReflectorState = "starting";
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Ends the watch in progress; set while one runs. */
  private endWatch: (() => void) | undefined;
  private cancelSleep: (() => void) | undefined;
  private cancelResync: (() => void) | undefined;

  constructor(
    private readonly source: ResourceSource<T>,
    private readonly options: ReflectorOptions,
  ) {
    this.store = this.cache;
    this.clock = options.clock ?? systemClock;
    this.backoff = new JitteredBackoff({ ...(options.backoff ?? defaultBackoff), clock: this.clock });
  }

  get name(): string {
    return this.source.name;
  }

  get state(): ReflectorState {
    return this.current;
  }

  /** True once a full list has been cached; stays true across later relists. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Synced and holding a live watch: what readiness means. */
  isHealthy(): boolean {
    return this.synced && this.current === "watching";
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  onChange(listener: (obj: T) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelResync?.();
    this.cancelSleep?.();
    this.endWatch?.();
    await this.loop;
  }

  private log(): Logger {
    return this.options.logger;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        if (this.stopping) break;
        const reason = await this.watchOnce(this.resourceVersion ?? "");
        if (reason === "stopped") break;
        this.restarted(reason);
        if (reason === "expired") this.resourceVersion = undefined;
      } catch (err) {
        if (this.stopping) break;
        if (isGone(err)) {
          this.restarted("expired");
          this.resourceVersion = undefined;
          continue;
        }
        this.restarted("error");
        const delay = this.backoff.next();
        this.current = "backoff";
        this.log().warn({ resource: this.name, err, retryInMs: Math.round(delay) }, "watch failed, retrying");
        const wait = sleep(this.clock, delay);
        this.cancelSleep = wait.cancel;
        await wait.done;
      }
    }
    this.current = "stopped";
  }

  private restarted(reason: RestartReason): void {
    this.options.onRestart?.(reason);
    if (reason !== "closed") this.log().info({ resource: this.name, reason }, "restarting watch");
  }

  /** Lists every page, then swaps the cache at once so readers never see half a list. */
  private async relist(): Promise<void> {
    this.current = "listing";
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const timeoutMs = this.options.listTimeoutMs ?? 60_000;
      const page = await withTimeout(
        this.clock,
        this.source.list({ limit: this.options.pageSize ?? 500, continueToken }),
        timeoutMs,
        `${this.name}: list timed out after ${timeoutMs} ms`,
      );
      items.push(...page.items);
      continueToken = page.continueToken || undefined;
      resourceVersion = page.resourceVersion;
    } while (continueToken && !this.stopping);
    if (this.stopping) return;
    const gone = this.cache.replace(items);
    this.resourceVersion = resourceVersion;
    this.log().debug({ resource: this.name, count: items.length }, "listed");
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    for (const obj of gone) this.emit(obj);
    for (const obj of this.cache.list()) this.emit(obj);
  }

  /** Runs one watch to its end; resolves with why it ended, rejects on failure. */
  private watchOnce(resourceVersion: string): Promise<RestartReason | "stopped"> {
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 150_000;
    const [minTimeout, maxTimeout] = this.options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(minTimeout + Math.random() * (maxTimeout - minTimeout));
    return new Promise<RestartReason | "stopped">((resolve, reject) => {
      let settled = false;
      let sawEvent = false;
      let abort: AbortController | undefined;
      let cancelIdle = (): void => {};
      const finish = (end: () => void): void => {
        if (settled) return;
        settled = true;
        cancelIdle();
        abort?.abort();
        this.endWatch = undefined;
        end();
      };
      const armIdle = (): void => {
        cancelIdle();
        cancelIdle = this.clock.setTimer(idleTimeoutMs, () => finish(() => resolve("idle")));
      };
      this.endWatch = () => finish(() => resolve("stopped"));
      armIdle();
      const onEvent = (type: string, raw: unknown): void => {
        if (settled) return;
        sawEvent = true;
        armIdle();
        try {
          this.apply(type, raw);
        } catch (err) {
          finish(() => reject(err));
        }
      };
      const onDone = (err: unknown): void => {
        if (err) return finish(() => reject(err));
        // A watch the server closes before sending anything is a failure, not a cycle:
        // otherwise a misbehaving proxy would make this a hot loop.
        if (!sawEvent) return finish(() => reject(new Error("watch closed before any event")));
        finish(() => resolve("closed"));
      };
      const query = {
        allowWatchBookmarks: true,
        resourceVersion,
        timeoutSeconds,
        labelSelector: this.source.labelSelector,
      };
      this.options.watch.watch(this.source.watchPath, query, onEvent, onDone).then(
        (controller) => {
          abort = controller;
          if (settled) controller.abort();
          else this.current = "watching";
        },
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  /** Applies one watch event to the cache; ERROR events throw. */
  private apply(type: string, raw: unknown): void {
    if (type === "ERROR") {
      const status = raw as { code?: number; message?: string };
      throw new WatchEventError(status.code, status.message ?? "watch error event");
    }
    const rv = (raw as ObjectMeta).metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.source.decodeWatched(raw);
    if (type === "ADDED" || type === "MODIFIED") {
      this.cache.upsert(obj);
    } else if (type === "DELETED") {
      this.cache.delete(obj);
    } else {
      return;
    }
    if (rv) this.resourceVersion = rv;
    this.emit(deepFreeze(obj));
  }

  private emit(obj: T): void {
    for (const listener of this.listeners) {
      try {
        listener(obj);
      } catch (err) {
        this.log().error({ resource: this.name, err }, "listener failed");
      }
    }
  }

  private scheduleResync(): void {
    const every = this.options.resyncMs ?? 600_000;
    if (every <= 0 || this.stopping) return;
    this.cancelResync = this.clock.setTimer(every, () => {
      if (this.synced) for (const obj of this.cache.list()) this.emit(obj);
      this.scheduleResync();
    });
  }
}
