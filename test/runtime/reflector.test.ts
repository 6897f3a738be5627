import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { customObjectSource, type ObjectMeta, podSource, Reflector, type ReflectorOptions, type RestartReason } from "@resumable/kube-runtime";

/** A pod as the apiserver writes it: plain JSON, string timestamps. */
function pod(name: string, resourceVersion: string, phase = "Running"): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "team", resourceVersion, creationTimestamp: "2026-11-28T12:00:00Z" },
    status: { phase },
  };
}

/**
 * Just enough of an apiserver for one collection: pages a list, holds watch streams open
 * for the test to write events into, and records what was asked of it.
 */
class FakeApiserver {
  /** The collection it serves. */
  path = "/api/v1/namespaces/team/pods";
  items: object[] = [];
  listResourceVersion = "10";
  /** Status code for the next list calls; 200 serves the items. */
  listStatus = 200;
  /** The next list call gets no answer at all. */
  hangNextList = false;
  lists = 0;
  readonly watches: { query: URLSearchParams; res: ServerResponse }[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  get lastWatch(): { query: URLSearchParams; res: ServerResponse } {
    const watch = this.watches.at(-1);
    assert.ok(watch, "no watch opened");
    return watch;
  }

  /** Writes events in one chunk, so the client reads them together. */
  send(...events: [type: string, object: object][]): void {
    this.lastWatch.res.write(events.map(([type, object]) => JSON.stringify({ type, object }) + "\n").join(""));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== this.path) {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get("watch") === "true") {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      this.watches.push({ query: url.searchParams, res });
      return;
    }
    this.lists++;
    if (this.hangNextList) {
      this.hangNextList = false;
      return;
    }
    if (this.listStatus !== 200) {
      res.writeHead(this.listStatus, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", code: this.listStatus, message: "boom" }));
      return;
    }
    // One item per page, so every list exercises continue tokens.
    const offset = Number(url.searchParams.get("continue") ?? "0");
    const next = offset + 1 < this.items.length ? String(offset + 1) : undefined;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "List",
        metadata: { resourceVersion: this.listResourceVersion, continue: next },
        items: this.items.slice(offset, offset + 1),
      }),
    );
  }
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check(), `timed out waiting until ${what}`);
}

describe("Reflector against a fake apiserver", { timeout: 30_000 }, () => {
  const api = new FakeApiserver();
  let kc: KubeConfig;
  /** The test's reflector, stopped before the next test starts. */
  let running: { stop(): Promise<void> } | undefined;
  let restarts: RestartReason[];
  let seen: string[];

  before(async () => {
    const server = await api.start();
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server, skipTLSVerify: true }],
      users: [{ name: "me" }],
      contexts: [{ name: "fake", cluster: "fake", user: "me" }],
      currentContext: "fake",
    });
  });
  after(() => api.close());

  beforeEach(async () => {
    await running?.stop();
    api.items = [pod("a", "5"), pod("b", "6")];
    api.listResourceVersion = "10";
    api.path = "/api/v1/namespaces/team/pods";
    api.listStatus = 200;
    api.hangNextList = false;
    api.lists = 0;
    api.watches.length = 0;
    restarts = [];
    seen = [];
  });

  function startReflector(options: Partial<ReflectorOptions> = {}): Reflector<V1Pod> {
    const reflector = new Reflector(podSource(kc, { namespace: "team", labelSelector: "resumable.dev/run" }), {
      watch: new Watch(kc),
      logger: pino({ level: "silent" }),
      backoff: { initialMs: 1, maxMs: 4, resetAfterMs: 60_000 },
      onRestart: (reason) => restarts.push(reason),
      ...options,
    });
    reflector.onChange((obj) => seen.push(obj.metadata?.name ?? ""));
    reflector.start();
    running = reflector;
    return reflector;
  }

  const names = (r: Reflector<V1Pod>): string[] => r.store.list().map((p) => p.metadata?.name ?? "").sort();

  it("lists every page, syncs, then watches from the list's resourceVersion with bookmarks", async () => {
    const r = startReflector();
    await r.waitForSync();
    assert.deepEqual(names(r), ["a", "b"]);
    assert.deepEqual(seen.sort(), ["a", "b"]);
    await eventually("watching", () => r.isHealthy());
    const query = api.lastWatch.query;
    assert.equal(query.get("resourceVersion"), "10");
    assert.equal(query.get("allowWatchBookmarks"), "true");
    assert.equal(query.get("labelSelector"), "resumable.dev/run");
    assert.equal(api.lists, 2, "two pages");
  });

  it("caches watched and listed objects in one form, frozen", async () => {
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    api.send(["ADDED", pod("c", "11")]);
    await eventually("c arrives", () => r.store.get("team/c") !== undefined);
    for (const key of ["team/a", "team/c"]) {
      const cached = r.store.get(key)!;
      assert.ok(cached.metadata?.creationTimestamp instanceof Date, `${key} has a Date timestamp`);
      assert.throws(() => {
        (cached.status as { phase: string }).phase = "Failed";
      }, TypeError);
    }
  });

  it("caches objects without managedFields, listed or watched, and applies a given transform instead", async () => {
    const managed = (name: string, rv: string) => {
      const p = pod(name, rv) as { metadata: Record<string, unknown> };
      p.metadata.managedFields = [{ manager: "kubectl", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:status": {} } }];
      return p;
    };
    api.items = [managed("a", "5")];
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    api.send(["ADDED", managed("c", "11")]);
    await eventually("c arrives", () => r.store.get("team/c") !== undefined);
    for (const key of ["team/a", "team/c"]) assert.equal(r.store.get(key)!.metadata?.managedFields, undefined, `${key} cached without managedFields`);
    await running?.stop();

    api.items = [managed("a", "5")];
    const labelled = startReflector({ transform: (obj) => { obj.metadata!.labels = { transformed: "yes" }; } });
    await labelled.waitForSync();
    const a = labelled.store.get("team/a")!;
    assert.deepEqual(a.metadata?.labels, { transformed: "yes" });
    assert.equal(a.metadata?.managedFields?.length, 1, "a transform of one's own replaces the default");
  });

  it("applies modifications and deletions and hands listeners the last state", async () => {
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    seen = [];
    api.send(["MODIFIED", pod("a", "12", "Succeeded")], ["DELETED", pod("b", "13")]);
    await eventually("both applied", () => seen.length === 2);
    assert.equal(r.store.get("team/a")?.status?.phase, "Succeeded");
    assert.equal(r.store.get("team/b"), undefined);
    assert.deepEqual(seen, ["a", "b"]);
  });

  it("relists on a 410 Gone event and tells listeners about objects that vanished", async () => {
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    api.items = [pod("a", "20")];
    api.listResourceVersion = "21";
    seen = [];
    api.send(["ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" }]);
    await eventually("rewatching from the new list", () => api.watches.length === 2 && r.isHealthy());
    assert.deepEqual(restarts, ["expired"]);
    assert.equal(api.lastWatch.query.get("resourceVersion"), "21");
    assert.deepEqual(names(r), ["a"]);
    assert.ok(seen.includes("b"), "the vanished object was handed out");
  });

  it("resumes from the last event's or bookmark's resourceVersion after a dropped connection, without relisting", async () => {
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    api.send(["ADDED", pod("c", "11")], ["BOOKMARK", { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: "15" } }]);
    await eventually("c arrives", () => r.store.get("team/c") !== undefined);
    api.lastWatch.res.socket?.destroy();
    await eventually("a second watch", () => api.watches.length === 2);
    assert.equal(api.lastWatch.query.get("resourceVersion"), "15");
    assert.equal(api.lists, 2, "no relist: still the first list's two pages");
    assert.equal(restarts.length, 1);
    assert.ok(restarts[0] === "error" || restarts[0] === "closed");
    assert.deepEqual(names(r), ["a", "b", "c"]);
  });

  it("restarts a watch that has gone quiet", async () => {
    const r = startReflector({ idleTimeoutMs: 50 });
    await eventually("two watches", () => api.watches.length >= 2);
    assert.equal(restarts[0], "idle");
    assert.equal(api.lastWatch.query.get("resourceVersion"), "10");
    assert.equal(api.lists, 2, "an idle watch resumes without relisting");
    assert.ok(r.hasSynced());
  });

  it("keeps retrying a failing list and is not ready until it succeeds", async () => {
    api.listStatus = 500;
    const r = startReflector();
    await eventually("several list attempts", () => api.lists >= 3);
    assert.equal(r.hasSynced(), false);
    assert.equal(r.isHealthy(), false);
    assert.ok(restarts.every((reason) => reason === "error"));
    api.listStatus = 200;
    await r.waitForSync();
    await eventually("watching", () => r.isHealthy());
  });

  it("gives up on a list that never answers and lists again", async () => {
    api.hangNextList = true;
    // Long enough that the answering list is never cut short on a loaded machine (50 ms
    // was: a fresh-clone CI run saw the second list time out too, ["error", "error"]).
    const r = startReflector({ listTimeoutMs: 2_000 });
    await r.waitForSync();
    assert.equal(restarts[0], "error", "the hung list was given up");
    assert.ok(restarts.every((reason) => reason === "error"), `restarts: ${restarts.join(", ")}`);
    assert.ok(api.lists >= 2, "and listed again");
    assert.deepEqual(names(r), ["a", "b"]);
  });

  it("re-hands every cached object to listeners on resync", async () => {
    const r = startReflector({ resyncMs: 20 });
    await eventually("watching", () => r.isHealthy());
    seen = [];
    await eventually("a resync", () => seen.filter((n) => n === "a").length >= 2);
    assert.equal(api.lists, 2, "resync reads the cache, not the apiserver");
  });

  it("keeps custom resources as plain JSON from list pages and watch events alike", async () => {
    type Run = ObjectMeta & { metadata: { creationTimestamp?: unknown } };
    const tr = (name: string, resourceVersion: string) => ({ ...pod(name, resourceVersion), apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun" });
    api.path = "/apis/resumable.dev/v1alpha1/namespaces/team/trainingruns";
    api.items = [tr("x", "5"), tr("y", "6"), tr("z", "7")];
    const r = new Reflector<Run>(
      customObjectSource<Run>(kc, { group: "resumable.dev", version: "v1alpha1", plural: "trainingruns" }, { namespace: "team" }),
      { watch: new Watch(kc), logger: pino({ level: "silent" }) },
    );
    r.start();
    running = r;
    await eventually("watching", () => r.isHealthy());
    assert.equal(api.lists, 3, "followed the raw `continue` token through three pages");
    api.send(["ADDED", tr("w", "11")]);
    await eventually("w arrives", () => r.store.get("team/w") !== undefined);
    for (const key of ["team/x", "team/w"]) {
      assert.equal(r.store.get(key)?.metadata.creationTimestamp, "2026-11-28T12:00:00Z");
    }
  });

  it("stops: ends the watch and reports stopped", async () => {
    const r = startReflector();
    await eventually("watching", () => r.isHealthy());
    await r.stop();
    assert.equal(r.state, "stopped");
    assert.equal(r.isHealthy(), false);
    assert.deepEqual(restarts, []);
  });
});
