// The runtime's reflector against a real apiserver: it syncs, follows changes as typed
// Apply/Delete, resumes from its resourceVersion across forced watch restarts without
// missing a change, and recovers from a real 410 by relisting.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Watch, type V1Pod } from "@kubernetes/client-node";
import { podSource, Reflector, type Change, type Logger, type ReflectorOptions, type RestartReason, type ResourceSource } from "@resumable/kube-runtime";
import { eventually, useCluster } from "../support/cluster.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const NS = "default";
const LABEL = "runtime-test";

const pod = (name: string, group: string): V1Pod => ({
  metadata: { name, namespace: NS, labels: { [LABEL]: group } },
  // Never scheduled (no kubelet, no scheduler needed): the object is all this test watches.
  spec: { containers: [{ name: "main", image: "busybox" }], nodeName: "nowhere" },
});

describe("kube-runtime Reflector on a real apiserver", { timeout: 10 * 60_000 }, () => {
  const t = useCluster({ withKubelet: false });
  const running: Reflector<V1Pod>[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  function start(group: string, options: Partial<ReflectorOptions> = {}, wrap = (s: ResourceSource<V1Pod>) => s) {
    const restarts: RestartReason[] = [];
    const changes: Change<V1Pod>[] = [];
    const reflector = new Reflector(wrap(podSource(t.kc, { namespace: NS, labelSelector: `${LABEL}=${group}` })), {
      watch: new Watch(t.kc),
      logger: quiet,
      backoff: { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 },
      onRestart: (reason) => restarts.push(reason),
      ...options,
    });
    reflector.onEvent((change) => changes.push(change));
    reflector.start();
    running.push(reflector);
    return { reflector, restarts, changes };
  }
  const names = (r: Reflector<V1Pod>) => r.store.list().map((p) => p.metadata?.name).sort();
  const create = (p: V1Pod) => t.core.createNamespacedPod({ namespace: NS, body: p });

  it("syncs, then follows creations, updates and deletions as typed changes", async () => {
    await create(pod("sync-a", "sync"));
    await create(pod("sync-b", "sync"));
    const { reflector, changes } = start("sync");
    await reflector.waitForSync();
    assert.deepEqual(names(reflector), ["sync-a", "sync-b"]);
    await eventually("watching", async () => reflector.isHealthy() || undefined);

    await create(pod("sync-c", "sync"));
    await t.core.patchNamespacedPod(
      { name: "sync-a", namespace: NS, body: [{ op: "add", path: "/metadata/annotations", value: { touched: "yes" } }] },
    );
    await t.core.deleteNamespacedPod({ name: "sync-b", namespace: NS, gracePeriodSeconds: 0 });
    await eventually("all three changes", async () =>
      reflector.store.get(`${NS}/sync-b`) === undefined && reflector.store.get(`${NS}/sync-a`)?.metadata?.annotations?.touched === "yes" && reflector.store.get(`${NS}/sync-c`) ? true : undefined,
    );
    assert.deepEqual(names(reflector), ["sync-a", "sync-c"]);
    assert.ok(changes.some((c) => c.type === "Delete" && c.object.metadata?.name === "sync-b"), "the deletion is a Delete");
    const update = changes.find((c) => c.type === "Apply" && c.object.metadata?.annotations?.touched === "yes");
    assert.ok(update?.type === "Apply" && update.old?.metadata?.name === "sync-a", "the update carries the state it replaced");
    assert.ok(reflector.store.get(`${NS}/sync-c`)?.metadata?.creationTimestamp instanceof Date, "watched objects in the listed form");
  });

  it("resumes from its resourceVersion across watch restarts without missing a change or relisting", async () => {
    // A watchdog shorter than the gaps between changes: every watch ends idle and is reopened.
    const { reflector, restarts } = start("resume", { idleTimeoutMs: 300 });
    await reflector.waitForSync();
    for (let i = 0; i < 5; i++) {
      await create(pod(`resume-${i}`, "resume"));
      await eventually(`restart ${i}`, async () => (restarts.length > i ? true : undefined));
    }
    await eventually("every pod", async () => (reflector.store.list().length === 5 ? true : undefined));
    assert.ok(restarts.includes("idle"));
    assert.ok(!restarts.includes("expired"), "never lost its place");
  });

  it("relists after the apiserver answers 410 to a resourceVersion it no longer has", async () => {
    await create(pod("gone-a", "gone"));
    let lists = 0;
    // The first list claims resourceVersion "1": older than the watch cache holds, so the
    // real apiserver expires the watch that starts from it.
    const { reflector, restarts } = start("gone", {}, (source) => ({
      ...source,
      list: async (page) => {
        const result = await source.list(page);
        return lists++ === 0 ? { ...result, resourceVersion: "1" } : result;
      },
    }));
    await eventually("watching after the relist", async () => (reflector.isHealthy() && lists >= 2 ? true : undefined));
    assert.ok(restarts.includes("expired"), `restarts: ${restarts.join(", ")}`);
    await create(pod("gone-b", "gone"));
    await eventually("the new pod", async () => (reflector.store.get(`${NS}/gone-b`) ? true : undefined));
    assert.deepEqual(names(reflector), ["gone-a", "gone-b"]);
  });
});
