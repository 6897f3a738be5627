// The runtime's reflector against a real apiserver: it syncs, follows changes as typed
// Apply/Delete, and resumes from its resourceVersion across forced watch restarts without
// missing a change. (410 relists are driven by scripted streams in watcher.test.ts: a
// fresh apiserver serves a watch from an old version out of etcd instead of expiring it.)
// Claims, not pods: they need no service account and no node.
import assert from "node:assert/strict";
import { createConnection, createServer, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { KubeConfig, Watch, type V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { pvcSource, Reflector, type Change, type Logger, type ReflectorOptions, type RestartReason } from "@resumable/kube-runtime";
import { eventually, useCluster } from "../support/cluster.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const NS = "default";
const LABEL = "runtime-test";

type Claim = V1PersistentVolumeClaim;
const claim = (name: string, group: string): Claim => ({
  metadata: { name, namespace: NS, labels: { [LABEL]: group } },
  // Never bound (no provisioner runs): the object is all this test watches.
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } }, storageClassName: "none" },
});

describe("kube-runtime Reflector on a real apiserver", { timeout: 10 * 60_000 }, () => {
  // A cluster of its own, not the shared one: its claims must stay unbound, and the shared cluster's kubelet is also its volume provisioner.
  const t = useCluster({ withKubelet: false });
  const running: Reflector<Claim>[] = [];
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  function start(group: string, options: Partial<ReflectorOptions> = {}) {
    const restarts: RestartReason[] = [];
    const changes: Change<Claim>[] = [];
    const reflector = new Reflector(pvcSource(t.kc, { namespace: NS, labelSelector: `${LABEL}=${group}` }), {
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
  const names = (r: Reflector<Claim>) => r.store.list().map((p) => p.metadata?.name).sort();
  const create = (c: Claim) => t.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: c });

  it("syncs, then follows creations, updates and deletions as typed changes", async () => {
    await create(claim("sync-a", "sync"));
    await create(claim("sync-b", "sync"));
    const { reflector, changes } = start("sync");
    await reflector.waitForSync();
    assert.deepEqual(names(reflector), ["sync-a", "sync-b"]);
    await eventually("watching", async () => reflector.isHealthy() || undefined);

    await create(claim("sync-c", "sync"));
    await t.core.patchNamespacedPersistentVolumeClaim({
      name: "sync-a",
      namespace: NS,
      body: [{ op: "add", path: "/metadata/annotations", value: { touched: "yes" } }],
    });
    await t.core.deleteNamespacedPersistentVolumeClaim({ name: "sync-b", namespace: NS });
    await eventually("all three changes", async () =>
      reflector.store.get(`${NS}/sync-b`) === undefined && reflector.store.get(`${NS}/sync-a`)?.metadata?.annotations?.touched === "yes" && reflector.store.get(`${NS}/sync-c`) ? true : undefined,
    );
    assert.deepEqual(names(reflector), ["sync-a", "sync-c"]);
    assert.ok(changes.some((c) => c.type === "Delete" && c.object.metadata?.name === "sync-b"), "the deletion is a Delete");
    const update = changes.find((c) => c.type === "Apply" && c.object.metadata?.annotations?.touched === "yes");
    assert.ok(update?.type === "Apply" && update.old?.metadata?.name === "sync-a", "the update carries the state it replaced");
    assert.ok(reflector.store.get(`${NS}/sync-c`)?.metadata?.creationTimestamp instanceof Date, "watched objects in the listed form (Dates)");
  });

  it("resumes from its resourceVersion across watch restarts without missing a change or relisting", async () => {
    // A watchdog shorter than the gaps between changes: every watch ends idle and is reopened.
    const { reflector, restarts } = start("resume", { idleTimeoutMs: 300 });
    await reflector.waitForSync();
    for (let i = 0; i < 5; i++) {
      await create(claim(`resume-${i}`, "resume"));
      await eventually(`restart ${i}`, async () => (restarts.length > i ? true : undefined));
    }
    await eventually("every claim", async () => (reflector.store.list().length === 5 ? true : undefined));
    assert.ok(restarts.includes("idle"));
    assert.ok(!restarts.includes("expired"), "never lost its place");
  });

  it("a watch whose connection goes silent (no event, no error, no close) is restarted by the watchdog, and nothing is missed", async () => {
    // Between the reflector and the apiserver, a TCP proxy that can freeze every connection
    // open at one moment: bytes stop flowing both ways, the sockets stay open. That is what
    // a half-dead NAT or load balancer does, and client-node alone would wait forever.
    const proxy = await freezingProxy(new URL(t.kc.getCurrentCluster()!.server));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: t.kc.clusters.map((c) => ({ ...c, server: proxy.url })),
        users: t.kc.users,
        contexts: t.kc.contexts,
        currentContext: t.kc.currentContext,
      });
      const restarts: RestartReason[] = [];
      const reflector = new Reflector(pvcSource(kc, { namespace: NS, labelSelector: `${LABEL}=silent` }), {
        watch: new Watch(kc),
        logger: quiet,
        backoff: { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 },
        idleTimeoutMs: 2_000,
        // A pooled connection frozen too may carry the next list: give up on it soon.
        listTimeoutMs: 5_000,
        onRestart: (reason) => restarts.push(reason),
      });
      reflector.start();
      running.push(reflector);
      await reflector.waitForSync();
      await create(claim("silent-0", "silent"));
      await eventually("the first claim, live", async () => reflector.store.get(`${NS}/silent-0`) ?? undefined);
      await eventually("watching", async () => reflector.isHealthy() || undefined);

      const frozen = proxy.freezeAll();
      assert.ok(frozen > 0, "the open connections were frozen");
      const restartsBefore = restarts.length;
      await create(claim("silent-1", "silent"));
      await eventually("the claim created while the watch was silent", async () => reflector.store.get(`${NS}/silent-1`) ?? undefined, 60_000);
      assert.ok(restarts.slice(restartsBefore).includes("idle"), `the silent watch was given up as idle: ${restarts.join(", ")}`);
    } finally {
      proxy.close();
    }
  });
});

interface FreezingProxy {
  url: string;
  /** Stops every byte of the connections open now, both ways; returns how many. Later ones flow. */
  freezeAll(): number;
  close(): void;
}

async function freezingProxy(upstream: URL): Promise<FreezingProxy> {
  const pairs = new Set<{ client: Socket; server: Socket; frozen: boolean }>();
  const server = createServer((client) => {
    const upstreamSocket = createConnection({ host: upstream.hostname, port: Number(upstream.port) });
    const pair = { client, server: upstreamSocket, frozen: false };
    pairs.add(pair);
    // TLS passes through untouched, byte for byte.
    client.on("data", (chunk) => {
      if (!pair.frozen) upstreamSocket.write(chunk);
    });
    upstreamSocket.on("data", (chunk) => {
      if (!pair.frozen) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstreamSocket.destroy();
    };
    client.on("close", end).on("error", end);
    upstreamSocket.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    freezeAll: () => {
      for (const p of pairs) p.frozen = true;
      return pairs.size;
    },
    close: () => {
      server.close();
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
    },
  };
}
