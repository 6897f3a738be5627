// The watcher's state machine, driven by scripted list pages and watch streams on a manual
// clock: no sockets, no real waits, every edge of empty -> listed -> watching exercised.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isUnchanged, ManualClock, Reflector, transition, Watcher, type Change, type ListPage, type Logger, type ResourceSource, type RestartReason, type WatchClient, type WatcherEvent, type WatcherOptions, type WatcherState } from "@resumable/kube-runtime";

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  value?: string;
}

const obj = (name: string, resourceVersion: string, value?: string): Obj => ({ metadata: { name, namespace: "ns", resourceVersion }, value });
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** An HTTP-style failure as client-node reports it. */
const httpError = (code: number): Error => Object.assign(new Error(`HTTP ${code}`), { code });

/** One watch the watcher opened: the test plays the server's side of it. */
class ScriptedStream {
  aborted = false;
  constructor(
    readonly query: Record<string, string | number | boolean | undefined>,
    private readonly onEvent: (type: string, object: unknown) => void,
    private readonly onDone: (err?: unknown) => void,
  ) {}

  send(type: string, object: unknown): void {
    if (!this.aborted) this.onEvent(type, object);
  }
  /** The server closes the stream normally. */
  close(): void {
    if (!this.aborted) this.onDone();
  }
  /** The connection drops. */
  drop(): void {
    if (!this.aborted) this.onDone(new Error("socket hang up"));
  }
}

/** The apiserver as a script: list answers queue up, watches are handed to the test. */
class ScriptedServer implements WatchClient {
  /** Each list call takes the next answer: a page, or an error to throw. */
  readonly listAnswers: (ListPage<Obj> | Error)[] = [];
  /** Each watch call takes the next answer, if any: an error to fail the open with. */
  readonly watchOpenErrors: Error[] = [];
  readonly lists: (string | undefined)[] = [];
  readonly streams: ScriptedStream[] = [];

  source(): ResourceSource<Obj> {
    return {
      name: "objs",
      watchPath: "/objs",
      decodeWatched: (raw) => raw as Obj,
      list: ({ continueToken }) => {
        this.lists.push(continueToken);
        const answer = this.listAnswers.shift();
        if (!answer) return new Promise(() => {});
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
    };
  }

  watch(
    _path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err?: unknown) => void,
  ): Promise<AbortController> {
    const failure = this.watchOpenErrors.shift();
    if (failure) return Promise.reject(failure);
    const stream = new ScriptedStream(query, onEvent, onDone);
    this.streams.push(stream);
    const controller = new AbortController();
    controller.signal.addEventListener("abort", () => (stream.aborted = true));
    return Promise.resolve(controller);
  }

  get lastStream(): ScriptedStream {
    const stream = this.streams.at(-1);
    assert.ok(stream, "no watch opened");
    return stream;
  }
}

/** Lets pending promise callbacks run (the scripted server answers at once). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function startWatcher(server: ScriptedServer, options: Partial<WatcherOptions> = {}) {
  const clock = new ManualClock();
  const events: WatcherEvent<Obj>[] = [];
  const restarts: RestartReason[] = [];
  const watcher = new Watcher(
    server.source(),
    {
      watch: server,
      logger: quiet,
      clock,
      random: () => 1,
      idleTimeoutMs: 60_000,
      backoff: { initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000 },
      onRestart: (reason) => restarts.push(reason),
      ...options,
    },
    (event) => events.push(event),
  );
  const done = watcher.run();
  return { watcher, clock, events, restarts, done };
}

const described = (events: WatcherEvent<Obj>[]): string[] =>
  events.map((e) => ("object" in e ? `${e.type}:${e.object.metadata.name}@${e.object.metadata.resourceVersion}` : e.type));

describe("watcher state machine (pure transitions)", () => {
  const empty: WatcherState = { phase: "empty" };
  const listed: WatcherState = { phase: "listed", resourceVersion: "10" };
  const watching: WatcherState = { phase: "watching", resourceVersion: "12" };

  it("goes empty -> listed(rv) -> watching(rv) and advances with events and bookmarks", () => {
    assert.deepEqual(transition(empty, { kind: "listed", resourceVersion: "10" }), listed);
    assert.deepEqual(transition(listed, { kind: "watchOpened" }), { phase: "watching", resourceVersion: "10" });
    assert.deepEqual(transition(watching, { kind: "advanced", resourceVersion: "13" }), { phase: "watching", resourceVersion: "13" });
  });

  it("keeps its place when a watch ends or fails, and loses it only on 410", () => {
    assert.deepEqual(transition(watching, { kind: "ended" }), { phase: "listed", resourceVersion: "12" });
    assert.deepEqual(transition(watching, { kind: "failed", gone: false }), { phase: "listed", resourceVersion: "12" });
    assert.deepEqual(transition(watching, { kind: "failed", gone: true }), empty);
    assert.deepEqual(transition(listed, { kind: "failed", gone: true }), empty);
    assert.deepEqual(transition(empty, { kind: "failed", gone: false }), empty, "a failed list lists again");
  });

  it("ignores what cannot happen in a phase, and never leaves stopped", () => {
    assert.deepEqual(transition(empty, { kind: "advanced", resourceVersion: "9" }), empty);
    assert.deepEqual(transition(empty, { kind: "watchOpened" }), empty);
    assert.deepEqual(transition(listed, { kind: "ended" }), listed);
    const stopped = transition(watching, { kind: "stopped" });
    assert.deepEqual(stopped, { phase: "stopped" });
    assert.deepEqual(transition(stopped, { kind: "listed", resourceVersion: "20" }), stopped);
  });
});

describe("Watcher over scripted streams", () => {
  it("lists every page as Init, InitApply…, InitDone, then watches from the list's version with bookmarks", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [obj("a", "5")], resourceVersion: "10", continueToken: "p2" }, { items: [obj("b", "6")], resourceVersion: "10" });
    const { watcher, events } = startWatcher(server);
    await settle();
    assert.deepEqual(described(events), ["Init", "InitApply:a@5", "InitApply:b@6", "InitDone"]);
    assert.deepEqual(server.lists, [undefined, "p2"], "followed the continue token");
    assert.deepEqual(watcher.state, { phase: "watching", resourceVersion: "10" });
    assert.equal(server.lastStream.query.resourceVersion, "10");
    assert.equal(server.lastStream.query.allowWatchBookmarks, true);
    watcher.stop();
  });

  it("turns ADDED/MODIFIED into Apply and DELETED into Delete; a bookmark only moves the version", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    const { watcher, events } = startWatcher(server);
    await settle();
    events.length = 0;
    server.lastStream.send("ADDED", obj("a", "11"));
    server.lastStream.send("MODIFIED", obj("a", "12", "x"));
    server.lastStream.send("BOOKMARK", { metadata: { resourceVersion: "15" } });
    server.lastStream.send("DELETED", obj("a", "16"));
    server.lastStream.send("BOOKMARK", { metadata: { resourceVersion: "18" } });
    assert.deepEqual(described(events), ["Apply:a@11", "Apply:a@12", "Delete:a@16"]);
    assert.deepEqual(watcher.state, { phase: "watching", resourceVersion: "18" });
    watcher.stop();
  });

  it("on a 410 ERROR event relists at once and watches from the new list's version", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [obj("a", "5")], resourceVersion: "10" }, { items: [obj("b", "20")], resourceVersion: "21" });
    const { watcher, events, restarts, clock } = startWatcher(server);
    await settle();
    events.length = 0;
    server.lastStream.send("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
    await settle();
    assert.equal(clock.pendingTimers() <= 1, true, "no backoff wait: only the new watch's watchdog");
    assert.deepEqual(restarts, ["expired"]);
    assert.deepEqual(described(events), ["Init", "InitApply:b@20", "InitDone"]);
    assert.equal(server.streams.length, 2);
    assert.ok(server.streams[0]!.aborted, "the expired stream was closed");
    assert.deepEqual(watcher.state, { phase: "watching", resourceVersion: "21" });
    watcher.stop();
  });

  it("on a 410 answer to opening the watch relists too", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" }, { items: [], resourceVersion: "30" });
    server.watchOpenErrors.push(httpError(410));
    const { watcher, restarts } = startWatcher(server);
    await settle();
    assert.deepEqual(restarts, ["expired"]);
    assert.equal(server.lists.length, 2);
    assert.deepEqual(watcher.state, { phase: "watching", resourceVersion: "30" });
    watcher.stop();
  });

  it("restarts a silent watch after the idle timeout from the same version, without relisting", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    const { watcher, clock, restarts } = startWatcher(server, { idleTimeoutMs: 60_000 });
    await settle();
    server.lastStream.send("BOOKMARK", { metadata: { resourceVersion: "14" } });
    clock.advance(59_999);
    await settle();
    assert.equal(server.streams.length, 1, "not yet idle: the bookmark re-armed the watchdog");
    clock.advance(1);
    await settle();
    assert.deepEqual(restarts, ["idle"]);
    assert.ok(server.streams[0]!.aborted, "the silent stream was abandoned");
    assert.equal(server.streams.length, 2);
    assert.equal(server.lastStream.query.resourceVersion, "14");
    assert.equal(server.lists.length, 1, "no relist");
    watcher.stop();
  });

  it("after a dropped connection waits out the backoff, then resumes from the last event's version", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    const { watcher, clock, restarts } = startWatcher(server);
    await settle();
    server.lastStream.send("ADDED", obj("a", "11"));
    server.lastStream.drop();
    await settle();
    assert.deepEqual(restarts, ["error"]);
    assert.deepEqual(watcher.state, { phase: "listed", resourceVersion: "11" });
    // random() = 1 and the event reset the backoff: the first delay is the initial 800 ms.
    clock.advance(799);
    await settle();
    assert.equal(server.streams.length, 1, "still backing off");
    clock.advance(1);
    await settle();
    assert.equal(server.streams.length, 2);
    assert.equal(server.lastStream.query.resourceVersion, "11");
    assert.equal(server.lists.length, 1, "no relist");
    watcher.stop();
  });

  it("backs off exponentially while watches keep failing to open, and keeps its place", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    server.watchOpenErrors.push(httpError(500), httpError(503));
    const { watcher, clock, restarts } = startWatcher(server);
    await settle();
    assert.deepEqual(restarts, ["error"]);
    clock.advance(800);
    await settle();
    assert.deepEqual(restarts, ["error", "error"]);
    clock.advance(1_599);
    await settle();
    assert.equal(server.streams.length, 0, "the second delay is twice the first");
    clock.advance(1);
    await settle();
    assert.equal(server.streams.length, 1);
    assert.equal(server.lastStream.query.resourceVersion, "10");
    watcher.stop();
  });

  it("counts a watch the server closes before any event as a failure, not a cycle", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    const { watcher, clock, restarts } = startWatcher(server);
    await settle();
    server.lastStream.close();
    await settle();
    assert.deepEqual(restarts, ["error"]);
    assert.equal(server.streams.length, 1, "waits before watching again");
    clock.advance(800);
    await settle();
    assert.equal(server.streams.length, 2);
    server.lastStream.send("BOOKMARK", { metadata: { resourceVersion: "12" } });
    server.lastStream.close();
    await settle();
    assert.deepEqual(restarts, ["error", "closed"]);
    assert.equal(server.streams.length, 3, "a normal close after events re-watches at once");
    assert.equal(server.lastStream.query.resourceVersion, "12");
    watcher.stop();
  });

  it("on an error mid-list emits no InitDone, stays empty, and starts the next list from the first page", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push(
      { items: [obj("a", "5")], resourceVersion: "10", continueToken: "p2" },
      httpError(500),
      { items: [obj("a", "5")], resourceVersion: "11", continueToken: "p2" },
      { items: [obj("b", "6")], resourceVersion: "11" },
    );
    const { watcher, clock, events, restarts } = startWatcher(server);
    await settle();
    assert.deepEqual(described(events), ["Init", "InitApply:a@5"]);
    assert.deepEqual(watcher.state, { phase: "empty" });
    assert.deepEqual(restarts, ["error"]);
    clock.advance(800);
    await settle();
    assert.deepEqual(server.lists, [undefined, "p2", undefined, "p2"], "the second list starts over");
    assert.deepEqual(described(events.slice(2)), ["Init", "InitApply:a@5", "InitApply:b@6", "InitDone"]);
    assert.deepEqual(watcher.state, { phase: "watching", resourceVersion: "11" });
    watcher.stop();
  });

  it("stops from any phase: closes the watch, ends run(), and stays stopped", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [], resourceVersion: "10" });
    const { watcher, done } = startWatcher(server);
    await settle();
    watcher.stop();
    await done;
    assert.deepEqual(watcher.state, { phase: "stopped" });
    assert.ok(server.lastStream.aborted);
  });
});

describe("Reflector over scripted streams", () => {
  function startReflector(server: ScriptedServer) {
    const clock = new ManualClock();
    const reflector = new Reflector(server.source(), { watch: server, logger: quiet, clock, resyncMs: 0, idleTimeoutMs: 60_000 });
    const changes: Change<Obj>[] = [];
    reflector.onEvent((change) => changes.push(change));
    reflector.start();
    return { reflector, changes, clock };
  }
  const describedChanges = (changes: Change<Obj>[]): string[] =>
    changes.map((c) => `${c.type}:${c.object.metadata.name}@${c.object.metadata.resourceVersion}${c.type === "Apply" && c.old ? `<-${c.old.metadata.resourceVersion}` : ""}`);

  it("never shows half a list: the store and listeners see a relist only once it is complete", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [obj("a", "5")], resourceVersion: "10", continueToken: "p2" }, httpError(500));
    const { reflector, changes, clock } = startReflector(server);
    await settle();
    assert.equal(reflector.store.list().length, 0);
    assert.equal(reflector.hasSynced(), false);
    assert.deepEqual(changes, []);
    server.listAnswers.push({ items: [obj("a", "5")], resourceVersion: "10", continueToken: "p2" }, { items: [obj("b", "6")], resourceVersion: "10" });
    clock.advance(800);
    await settle();
    assert.ok(reflector.hasSynced());
    assert.deepEqual(describedChanges(changes), ["Apply:a@5", "Apply:b@6"]);
    await reflector.stop();
  });

  it("after a 410 relist hands out what vanished as Delete and what stayed with its previous version", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [obj("a", "5"), obj("b", "6")], resourceVersion: "10" }, { items: [obj("a", "20")], resourceVersion: "21" });
    const { reflector, changes } = startReflector(server);
    await settle();
    changes.length = 0;
    server.lastStream.send("ERROR", { code: 410, message: "too old" });
    await settle();
    assert.deepEqual(describedChanges(changes), ["Delete:b@6", "Apply:a@20<-5"]);
    assert.deepEqual(changes.map((c) => isUnchanged(c)), [false, false]);
    assert.deepEqual(reflector.store.list().map((o) => o.metadata.name), ["a"]);
    assert.ok(reflector.isHealthy());
    await reflector.stop();
  });

  it("hands every object again on resync as an unchanged Apply", async () => {
    const server = new ScriptedServer();
    server.listAnswers.push({ items: [obj("a", "5")], resourceVersion: "10" });
    const clock = new ManualClock();
    const reflector = new Reflector(server.source(), { watch: server, logger: quiet, clock, resyncMs: 30_000, idleTimeoutMs: 60_000 });
    const changes: Change<Obj>[] = [];
    reflector.onEvent((change) => changes.push(change));
    reflector.start();
    await settle();
    server.lastStream.send("BOOKMARK", { metadata: { resourceVersion: "11" } });
    changes.length = 0;
    clock.advance(30_000);
    assert.deepEqual(describedChanges(changes), ["Apply:a@5<-5"]);
    assert.ok(isUnchanged(changes[0]!));
    assert.equal(server.lists.length, 1, "a resync reads the cache");
    await reflector.stop();
  });
});
