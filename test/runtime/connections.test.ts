// reuseConnections: API calls of one KubeConfig share a connection pool (client-node 2.0.1
// builds a new one, and so a new TLS connection, for every request), and new credentials
// get a pool of their own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubeConfig, RequestContext } from "@kubernetes/client-node";
import { reuseConnections } from "@resumable/kube-runtime";

function kubeconfig(cert: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", caData: Buffer.from("ca").toString("base64") }],
    users: [{ name: "u", certData: Buffer.from(cert).toString("base64"), keyData: Buffer.from("key").toString("base64") }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const ctx = new RequestContext("https://127.0.0.1:6443/api/v1/pods", "GET" as never);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe("reuseConnections", () => {
  it("hands every request of a KubeConfig the same connection pool", async () => {
    const plain = kubeconfig("cert");
    assert.notEqual(await dispatcherOf(plain), await dispatcherOf(plain), "client-node alone builds one per request");
    const pooled = reuseConnections(kubeconfig("cert"));
    const first = await dispatcherOf(pooled);
    assert.ok(first !== undefined);
    assert.equal(await dispatcherOf(pooled), first);
  });

  it("gives new credentials a new pool", async () => {
    const kc = reuseConnections(kubeconfig("cert-1"));
    const before = await dispatcherOf(kc);
    kc.loadFromOptions({ ...JSON.parse(kc.exportConfig()), users: [{ name: "u", certData: Buffer.from("cert-2").toString("base64"), keyData: Buffer.from("key").toString("base64") }] });
    assert.notEqual(await dispatcherOf(kc), before);
  });
});
