// The store's indexes stay in step with every way an object enters, changes in and leaves
// the cache: a lookup by index returns exactly what a scan of the whole cache would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Store } from "@resumable/kube-runtime";

interface Pod { metadata: { namespace: string; name: string; labels?: Record<string, string> }; spec?: { nodeName?: string } }

const pod = (name: string, run: string | undefined, node?: string): Pod => ({
  metadata: { namespace: "ns", name, ...(run !== undefined && { labels: { run } }) },
  ...(node !== undefined && { spec: { nodeName: node } }),
});

const newStore = () => new Store<Pod>({
  run: (p) => (p.metadata.labels?.run ? [p.metadata.labels.run] : []),
  node: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []),
});
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name).sort();

test("an object is found under each index value it has, and under nothing else", () => {
  const store = newStore();
  store.upsert(pod("a-1", "a", "n1"));
  store.upsert(pod("a-2", "a"));
  store.upsert(pod("b-1", "b", "n1"));
  store.upsert(pod("stray", undefined, "n2"));
  assert.deepEqual(names(store.byIndex("run", "a")), ["a-1", "a-2"]);
  assert.deepEqual(names(store.byIndex("node", "n1")), ["a-1", "b-1"]);
  assert.deepEqual(names(store.byIndex("node", "n2")), ["stray"]);
  assert.deepEqual(store.byIndex("run", "nobody"), []);
});

test("an update moves the object between index values (a pod bound to a node)", () => {
  const store = newStore();
  store.upsert(pod("a-1", "a"));
  assert.deepEqual(store.byIndex("node", "n1"), []);
  store.upsert(pod("a-1", "a", "n1"));
  assert.deepEqual(names(store.byIndex("node", "n1")), ["a-1"]);
  store.upsert(pod("a-1", "b", "n2"));
  assert.deepEqual(store.byIndex("run", "a"), []);
  assert.deepEqual(store.byIndex("node", "n1"), []);
  assert.deepEqual(names(store.byIndex("run", "b")), ["a-1"]);
  // The lookup returns the cached object as it is now, not a copy of an old one.
  assert.equal(store.byIndex("node", "n2")[0], store.get("ns/a-1"));
});

test("a delete and a relist take objects out of every index", () => {
  const store = newStore();
  store.upsert(pod("a-1", "a", "n1"));
  store.upsert(pod("a-2", "a", "n1"));
  store.delete(pod("a-1", "a", "n1"));
  assert.deepEqual(names(store.byIndex("run", "a")), ["a-2"]);
  const gone = store.replace([pod("b-1", "b", "n1")]);
  assert.deepEqual(names(gone), ["a-2"]);
  assert.deepEqual(store.byIndex("run", "a"), []);
  assert.deepEqual(names(store.byIndex("node", "n1")), ["b-1"]);
});

test("a lookup by an index the store does not have is refused by name", () => {
  assert.throws(() => newStore().byIndex("zone", "a"), /store: no index named "zone" \(known: run, node\)/);
  assert.throws(() => new Store<Pod>().byIndex("run", "a"), /no index named "run" \(known: none\)/);
});
