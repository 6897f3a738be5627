import { httpStatus } from "./api-errors.js";
import { JitteredBackoff, watchBackoff, type BackoffPolicy } from "./backoff.js";
import { systemClock, withTimeout, type Clock } from "./clock.js";
import type { Logger } from "./logger.js";
import type { ObjectMeta } from "./object-key.js";

/** One page of a list call, items already in the cached form. */
export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken?: string;
}

/**
 * Opens one watch stream: client-node's `Watch.watch` has exactly this shape, and a consumer
 * with its own HTTP client (the process kubelet) adapts to it. `onEvent` gets each event's
 * type and raw object; `onDone` is called once when the stream ends, with the error if it
 * failed. The returned controller aborts the stream.
 */
export interface WatchClient {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err?: unknown) => void,
  ): Promise<AbortController>;
}

/** What a watcher lists and watches: one resource type in one scope. */
export interface ResourceSource<T extends ObjectMeta> {
  /** Names the source in logs and metrics, e.g. `pods` or `pods/team-a`. */
  name: string;
  list(page: { limit: number; continueToken?: string }): Promise<ListPage<T>>;
  /** The collection's API path, e.g. `/api/v1/namespaces/team-a/pods`. */
  watchPath: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Brings a watch event's object (plain JSON, string timestamps) to the form `list` returns,
   * so the cache holds one form whichever way an object arrived.
   */
  decodeWatched(raw: unknown): T;
}

/**
 * Where a watcher stands, as kube-rs' watcher state:
 * - `empty`: nothing to resume from, the next step is a full list;
 * - `listed`: a resourceVersion to watch from, no watch open (after a list, or after a watch
 *   ended without losing our place);
 * - `watching`: a watch is open; its resourceVersion moves with every event and bookmark.
 * `stopped` is final.
 */
export type WatcherState =
  | { phase: "empty" }
  | { phase: "listed"; resourceVersion: string }
  | { phase: "watching"; resourceVersion: string }
  | { phase: "stopped" };

/** What moves the state machine. */
export type WatcherStep =
  | { kind: "listed"; resourceVersion: string }
  | { kind: "watchOpened" }
  /** An object event or a bookmark carried this resourceVersion. */
  | { kind: "advanced"; resourceVersion: string }
  /** The watch ended without an error: the server closed it, or it went silent. */
  | { kind: "ended" }
  /** A list or watch failed; `gone` when the server said our resourceVersion is too old (410). */
  | { kind: "failed"; gone: boolean }
  | { kind: "stopped" };

/** The whole state machine: pure, so every edge is tested without a stream. */
export function transition(state: WatcherState, step: WatcherStep): WatcherState {
  if (state.phase === "stopped" || step.kind === "stopped") return { phase: "stopped" };
  switch (step.kind) {
    case "listed":
      return { phase: "listed", resourceVersion: step.resourceVersion };
    case "watchOpened":
      return state.phase === "listed" ? { phase: "watching", resourceVersion: state.resourceVersion } : state;
    case "advanced":
      // An event can arrive before the open is reported: it proves the watch is open.
      return state.phase === "empty" ? state : { phase: "watching", resourceVersion: step.resourceVersion };
    case "ended":
      return state.phase === "watching" ? { phase: "listed", resourceVersion: state.resourceVersion } : state;
    case "failed":
      // A 410 means our place is lost: only a full list gets it back. Any other failure keeps it.
      return step.gone || state.phase === "empty" ? { phase: "empty" } : { phase: "listed", resourceVersion: state.resourceVersion };
  }
}

/**
 * What a watcher reports, as kube-rs' `watcher::Event`: a (re)list arrives as
 * `Init`, one `InitApply` per object, then `InitDone`, so a store can swap the whole list
 * in at once; watch events arrive as `Apply` or `Delete` (the last state of the object).
 */
export type WatcherEvent<T> =
  | { type: "Init" }
  | { type: "InitApply"; object: T }
  | { type: "InitDone" }
  | { type: "Apply"; object: T }
  | { type: "Delete"; object: T };

/** Why a watch stopped: each one is a restart, counted for metrics. */
export type RestartReason = "error" | "expired" | "idle" | "closed";

export interface WatcherOptions {
  watch: WatchClient;
  logger: Logger;
  pageSize?: number;
  /** No event or bookmark for this long means the watch is hung: restart it. */
  idleTimeoutMs?: number;
  /** Server-side watch timeout, drawn per watch from this range (client-go: 5–10 min). */
  watchTimeoutSeconds?: [number, number];
  /**
   * A list page that takes longer fails (and is retried with backoff): generated calls have
   * no timeout of their own, and a hung list would stall the watcher for good.
   */
  listTimeoutMs?: number;
  /** Between failed attempts; kube-rs' 0.8 s → 30 s unless set. */
  backoff?: BackoffPolicy;
  clock?: Clock;
  random?: () => number;
  onRestart?: (reason: RestartReason) => void;
}

/** A watch ERROR event, carrying the Status code the server sent (410 for an expired version). */
export class WatchEventError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const isGone = (err: unknown): boolean => httpStatus(err) === 410;

/**
 * Lists, then watches from the list's resourceVersion, and never gives up (client-node's
 * informer stops for good on any error but 410):
 * - 410 Gone (as a response or an ERROR event) → relist at once;
 * - any other failure → after a jittered exponential backoff, watch again from where we
 *   were (or list again, if no list has succeeded yet);
 * - no event or bookmark within the idle timeout → watch again (a silent watch is presumed dead);
 * - the server ending a watch normally → watch again at once.
 */
export class Watcher<T extends ObjectMeta> {
  private current: WatcherState = { phase: "empty" };
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: JitteredBackoff;
  private readonly stopping = new AbortController();
  /** Ends the watch in progress; set while one runs. */
  private endWatch: (() => void) | undefined;

  constructor(
    private readonly source: ResourceSource<T>,
    private readonly options: WatcherOptions,
    private readonly emit: (event: WatcherEvent<T>) => void,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = new JitteredBackoff({ ...(options.backoff ?? watchBackoff), clock: this.clock, random: this.random });
  }

  get state(): WatcherState {
    return this.current;
  }

  /** Runs until `stop`; never rejects. */
  async run(): Promise<void> {
    while (this.current.phase !== "stopped") {
      try {
        if (this.current.phase === "empty") {
          await this.list();
        } else {
          await this.watchFrom(this.current.resourceVersion);
        }
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        const gone = isGone(err);
        this.move({ kind: "failed", gone });
        this.restarted(gone ? "expired" : "error");
        if (gone) continue;
        const delay = this.backoff.next();
        this.options.logger.warn({ resource: this.source.name, err, retryInMs: Math.round(delay) }, "list or watch failed, retrying");
        await this.clock.sleep(delay, this.stopping.signal);
      }
    }
  }

  stop(): void {
    this.move({ kind: "stopped" });
    this.stopping.abort();
    this.endWatch?.();
  }

  private move(step: WatcherStep): void {
    this.current = transition(this.current, step);
  }

  private restarted(reason: RestartReason): void {
    this.options.onRestart?.(reason);
    if (reason !== "closed") this.options.logger.info({ resource: this.source.name, reason }, "restarting watch");
  }

  /** Lists every page; an error mid-list leaves the state `empty` and the next list starts over. */
  private async list(): Promise<void> {
    const timeoutMs = this.options.listTimeoutMs ?? 60_000;
    let continueToken: string | undefined;
    let resourceVersion = "";
    let started = false;
    do {
      const page = await withTimeout(
        this.clock,
        this.source.list({ limit: this.options.pageSize ?? 500, continueToken }),
        timeoutMs,
        `${this.source.name}: list timed out after ${timeoutMs} ms`,
      );
      if (this.stopping.signal.aborted) return;
      if (!started) this.emit({ type: "Init" });
      started = true;
      for (const object of page.items) this.emit({ type: "InitApply", object });
      continueToken = page.continueToken || undefined;
      resourceVersion = page.resourceVersion;
    } while (continueToken);
    this.emit({ type: "InitDone" });
    this.backoff.reset();
    this.move({ kind: "listed", resourceVersion });
    this.options.logger.debug({ resource: this.source.name, resourceVersion }, "listed");
  }

  /** Runs one watch to its end; resolves when it ended cleanly, rejects on failure. */
  private watchFrom(resourceVersion: string): Promise<void> {
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 150_000;
    const [minTimeout, maxTimeout] = this.options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(minTimeout + this.random() * (maxTimeout - minTimeout));
    return new Promise<void>((resolve, reject) => {
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
      const ended = (reason: RestartReason): void =>
        finish(() => {
          this.move({ kind: "ended" });
          this.restarted(reason);
          resolve();
        });
      const armIdle = (): void => {
        cancelIdle();
        cancelIdle = this.clock.setTimer(idleTimeoutMs, () => ended("idle"));
      };
      this.endWatch = () => finish(resolve);
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
      const onDone = (err?: unknown): void => {
        if (err) return finish(() => reject(err));
        // A watch the server closes before sending anything is a failure, not a cycle:
        // otherwise a misbehaving proxy would make this a hot loop.
        if (!sawEvent) return finish(() => reject(new Error("watch closed before any event")));
        ended("closed");
      };
      const query = {
        allowWatchBookmarks: true,
        resourceVersion,
        timeoutSeconds,
        labelSelector: this.source.labelSelector,
        fieldSelector: this.source.fieldSelector,
      };
      this.options.watch.watch(this.source.watchPath, query, onEvent, onDone).then(
        (controller) => {
          abort = controller;
          if (settled) controller.abort();
          else this.move({ kind: "watchOpened" });
        },
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  /** Turns one watch event into a step and an event; ERROR events throw. */
  private apply(type: string, raw: unknown): void {
    if (type === "ERROR") {
      const status = raw as { code?: number; message?: string };
      throw new WatchEventError(status.code, status.message ?? "watch error event");
    }
    const rv = (raw as ObjectMeta).metadata?.resourceVersion;
    if (type === "ADDED" || type === "MODIFIED") {
      this.emit({ type: "Apply", object: this.source.decodeWatched(raw) });
    } else if (type === "DELETED") {
      this.emit({ type: "Delete", object: this.source.decodeWatched(raw) });
    } else if (type !== "BOOKMARK") {
      return;
    }
    // A healthy stream: the next failure starts from the initial delay again.
    this.backoff.reset();
    if (rv) this.move({ kind: "advanced", resourceVersion: rv });
  }
}
