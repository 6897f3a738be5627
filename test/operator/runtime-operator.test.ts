import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import type { OperatorConfig } from "../../operator/src/config/config.js";
import { startOperator } from "../../operator/src/controller/operator.js";
import { DEFAULT_SETTINGS } from "../../operator/src/model/settings.js";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/ops/leases";

/**
 * An apiserver with nothing in it: every collection lists empty and its watch stays open;
 * one Lease with optimistic concurrency. Enough to see the operator's wiring on the wire.
 */
class EmptyApiserver {
  readonly watched = new Set<string>();
  /** Whether Kueue's CRDs are installed: without them its paths are 404, as on a real apiserver. */
  kueue = false;
  lease: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  private version = 0;
  private readonly server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const json = (status: number, object: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(object));
      if (url.pathname.startsWith(LEASES)) {
        if (req.method === "GET") return this.lease ? json(200, this.lease) : json(404, { kind: "Status", code: 404 });
        const lease = JSON.parse(body) as NonNullable<EmptyApiserver["lease"]>;
        if (req.method === "PUT" && lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
          return json(409, { kind: "Status", code: 409 });
        }
        this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
        return json(req.method === "POST" ? 201 : 200, this.lease);
      }
      if (url.pathname.startsWith("/apis/kueue.x-k8s.io/") && !this.kueue) return json(404, { kind: "Status", code: 404 });
      if (url.searchParams.get("watch") === "true") {
        this.watched.add(`${url.pathname}?${url.searchParams.get("labelSelector") ?? url.searchParams.get("fieldSelector") ?? ""}`);
        res.writeHead(200, { "content-type": "application/json" });
        res.flushHeaders();
        return;
      }
      json(200, { kind: "List", metadata: { resourceVersion: "1" }, items: [] });
    });
  }
}

/** A test operator's config: no metrics port of its own, a Lease in "ops", one worker. */
function configWith(overrides: Partial<OperatorConfig>): OperatorConfig {
  return {
    namespaces: [],
    metrics: { host: "127.0.0.1", port: 0 },
    logLevel: "silent",
    leaderElection: { enabled: true, name: "resumable-operator", namespace: "ops" },
    identity: "op-test",
    workers: 1,
    kueue: false,
    settings: DEFAULT_SETTINGS,
    ...overrides,
  };
}

async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe("the operator process, wired", { timeout: 30_000 }, () => {
  const api = new EmptyApiserver();
  const kc = new KubeConfig();
  before(async () => {
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: await api.start(), skipTLSVerify: true }],
      users: [{ name: "me" }],
      contexts: [{ name: "fake", cluster: "fake", user: "me" }],
      currentContext: "fake",
    });
  });
  after(() => api.close());

  it("watches its five collections, becomes ready, leads, and hands the Lease back on stop", async () => {
    const operator = await startOperator(configWith({}), kc, pino({ level: "silent" }));
    const base = `http://127.0.0.1:${operator.metricsPort}`;
    const status = async (path: string) => (await fetch(`${base}${path}`)).status;
    try {
      assert.equal(await status("/healthz"), 200);
      await eventually("ready", async () => (await status("/readyz")) === 200);
      assert.deepEqual([...api.watched].sort(), [
        "/api/v1/events?involvedObject.kind=Pod,reason=FailedMount",
        "/api/v1/nodes?",
        "/api/v1/persistentvolumeclaims?",
        "/api/v1/pods?resumable.dev/run",
        "/apis/resumable.dev/v1alpha1/trainingruns?",
      ]);
      await eventually("leading", () => api.lease?.spec.holderIdentity === "op-test");
      assert.match(String(api.lease?.spec.renewTime), /\.\d{6}Z$/, "MicroTime carries microseconds");
      await eventually("reported as leader", async () => /^resumable_leader 1$/m.test(await (await fetch(`${base}/metrics`)).text()));
    } finally {
      await operator.stop();
    }
    assert.equal(api.lease?.spec.holderIdentity, "", "released for a successor");
    await assert.rejects(fetch(`${base}/healthz`), "the metrics server is closed");
  });

  for (const installed of [false, true]) {
    it(`with --kueue on a cluster ${installed ? "with" : "without"} Kueue's CRDs: ready, and ${installed ? "watches Workloads too" : "watches what it would without the flag"}`, async () => {
      api.kueue = installed;
      api.watched.clear();
      const config = configWith({ kueue: true, leaderElection: { enabled: false, name: "resumable-operator", namespace: "ops" } });
      const operator = await startOperator(config, kc, pino({ level: "silent" }));
      const status = async (path: string) => (await fetch(`http://127.0.0.1:${operator.metricsPort}${path}`)).status;
      try {
        await eventually("ready", async () => (await status("/readyz")) === 200);
        await eventually("watching", () => api.watched.size >= (installed ? 6 : 5));
        assert.equal(api.watched.has("/apis/kueue.x-k8s.io/v1beta2/workloads?"), installed);
      } finally {
        await operator.stop();
        api.kueue = false;
      }
    });
  }
});
