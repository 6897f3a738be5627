// List+watch that never gives up: a local cache of one resource kept in step
// with the apiserver. A failed list or watch is retried with backoff; a 410
// Gone (expired resourceVersion) relists, and objects missing from the new
// list are reported as deleted. client-node's informer stops for good on any
// error other than 410, which a kubelet cannot afford.
import type { ApiClient } from "./api-client.js";
import { ApiError } from "./api-client.js";
import type { List, ObjectMeta, Status, WatchEvent } from "./api-types.js";
import { JitteredBackoff } from "@resumable/kube-runtime";
import { sleep, WATCH_RETRY } from "./retry.js";
import type { Logger } from "./log.js";

export type ChangeHandler<T> = (key: string, obj: T | undefined, old: T | undefined) => void;

/** Watches are re-opened by the server at least this often; a silent stream is presumed dead after. */
const WATCH_TIMEOUT_SECONDS = 240;
const IDLE_MS = (WATCH_TIMEOUT_SECONDS + 30) * 1000;

export class Reflector<T extends { metadata: ObjectMeta }> {
  readonly store = new Map<string, T>();
  private synced = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly onChange: ChangeHandler<T>,
    private readonly log: Logger,
  ) {}

  /** Resolves once the first list has been delivered. */
  hasSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  async run(signal: AbortSignal): Promise<void> {
    const backoff = new JitteredBackoff(WATCH_RETRY);
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) resourceVersion = await this.relist();
        resourceVersion = await this.watchFrom(resourceVersion, signal, () => backoff.reset());
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          this.log.info({ path: this.path }, "watch expired, relisting");
          resourceVersion = undefined;
          continue;
        }
        const delay = backoff.next();
        this.log.warn({ path: this.path, err: String(err), delayMs: delay }, "list/watch failed, retrying");
        await sleep(delay, signal);
      }
    }
  }

  private async relist(): Promise<string> {
    const list = await this.api.get<List<T>>(this.path, this.query);
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      this.apply(key, item);
    }
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.onChange(key, undefined, old);
      }
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.waiters.splice(0)) resolve();
    }
    return list.metadata.resourceVersion;
  }

  /** Returns the last resourceVersion seen when the server closes the stream. */
  private async watchFrom(resourceVersion: string, signal: AbortSignal, healthy: () => void): Promise<string> {
    let rv = resourceVersion;
    const query = {
      ...this.query,
      resourceVersion: rv,
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_TIMEOUT_SECONDS,
    };
    await this.api.watch(
      this.path,
      query,
      (raw) => {
        const event = raw as WatchEvent<T>;
        if (event.type === "ERROR") {
          const status = event.object as unknown as Status;
          throw new ApiError(status.code ?? 500, status.reason ?? "", status.message ?? "watch error");
        }
        if (event.object.metadata.resourceVersion) rv = event.object.metadata.resourceVersion;
        healthy();
        if (event.type === "BOOKMARK") return;
        const key = keyOf(event.object);
        if (event.type === "DELETED") {
          const old = this.store.get(key);
          this.store.delete(key);
          this.onChange(key, undefined, old ?? event.object);
        } else {
          this.apply(key, event.object);
        }
      },
      signal,
      IDLE_MS,
    );
    return rv;
  }

  private apply(key: string, obj: T): void {
    const old = this.store.get(key);
    if (old?.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.store.set(key, obj);
    this.onChange(key, obj, old);
  }
}

function keyOf(obj: { metadata: ObjectMeta }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

function isGone(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 410 || err.reason === "Expired" || err.reason === "Gone");
}
