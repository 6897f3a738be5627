import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConfigMap, Pod, Secret } from "../../api/types.js";
import { ContainerConfigError, containerEnv, expandArgv, type ObjectLookups } from "./env.js";
import { expand } from "./expand.js";

const pod: Pod = {
  metadata: { name: "trainer-1", namespace: "ml", uid: "u-1", labels: { app: "t" } },
  spec: { nodeName: "spot-a", serviceAccountName: "runner", containers: [] },
};
const lookups: ObjectLookups = {
  configMap: async (_ns, name) =>
    name === "cfg" ? ({ metadata: { name, uid: "c" }, data: { mode: "fast", level: "3" } } satisfies ConfigMap) : undefined,
  secret: async (_ns, name) =>
    name === "creds" ? ({ metadata: { name, uid: "s" }, data: { token: Buffer.from("s3cret").toString("base64") } } satisfies Secret) : undefined,
};
const ctx = { podIP: "127.1.0.7", hostIP: "127.0.0.1", apiserverHost: "127.0.0.1", apiserverPort: 6443 };

describe("containerEnv", () => {
  it("resolves field refs, key refs, envFrom and the kubernetes service", async () => {
    const env = await containerEnv(
      pod,
      {
        name: "main",
        envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
        env: [
          { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
          { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
          { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "mode" } } },
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "token" } } },
          { name: "URL", value: "http://$(IP):9090/$(MISSING)" },
        ],
      },
      ctx,
      lookups,
    );
    assert.equal(env.POD, "trainer-1");
    assert.equal(env.NS, "ml");
    assert.equal(env.UID, "u-1");
    assert.equal(env.NODE, "spot-a");
    assert.equal(env.SA, "runner");
    assert.equal(env.IP, "127.1.0.7");
    assert.equal(env.HOST, "127.0.0.1");
    assert.equal(env.APP, "t");
    assert.equal(env.CFG_level, "3");
    assert.equal(env.MODE, "fast");
    assert.equal(env.TOKEN, "s3cret");
    assert.equal(env.URL, "http://127.1.0.7:9090/$(MISSING)");
    assert.equal(env.KUBERNETES_SERVICE_HOST, "127.0.0.1");
    assert.equal(env.KUBERNETES_SERVICE_PORT, "6443");
    assert.equal(env.KUBERNETES_PORT_6443_TCP, "tcp://127.0.0.1:6443");
  });

  it("fails like the kubelet on a missing ConfigMap, Secret or key, unless optional", async () => {
    const run = (env: NonNullable<Pod["spec"]["containers"][number]["env"]>) => containerEnv(pod, { name: "c", env }, ctx, lookups);
    await assert.rejects(run([{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }]), {
      name: ContainerConfigError.name,
      message: 'configmap "nope" not found',
    });
    await assert.rejects(run([{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }]), {
      message: "couldn't find key k in Secret ml/creds",
    });
    const env = await run([{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k", optional: true } } }]);
    assert.equal(env.X, undefined);
  });
});

describe("expand", () => {
  it("expands $(VAR), keeps unknown references and unescapes $$", () => {
    const vars: Record<string, string> = { A: "1" };
    assert.equal(expand("$(A)-$(B)-$$(A)-$", (n) => vars[n]), "1-$(B)-$(A)-$");
    assert.deepEqual(expandArgv(["--x=$(A)"], { A: "z" }), ["--x=z"]);
  });
});
