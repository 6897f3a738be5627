import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { kubeClusterWriter, timedWriter, type ClusterWriter } from "../../operator/src/controller/cluster-writer.js";
import { OperatorMetrics } from "../../operator/src/metrics/operator-metrics.js";
import { httpStatus, networkFailure } from "@resumable/kube-runtime";

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** Answers every request with the status the test sets, and records it. */
describe("kubeClusterWriter on the wire", { timeout: 30_000 }, () => {
  const seen: Seen[] = [];
  let status = 200;
  let hang = false;
  let writer: ClusterWriter;
  const kc = new KubeConfig();
  const server = createServer((req: IncomingMessage, res) => {
    let data = "";
    req.on("data", (chunk: Buffer) => (data += chunk.toString()));
    req.on("end", () => {
      if (hang) return;
      seen.push({
        method: req.method ?? "",
        path: (req.url ?? "").split("?")[0]!,
        contentType: req.headers["content-type"],
        body: data ? JSON.parse(data) : undefined,
      });
      const body = status < 300 ? { kind: "Status", metadata: {} } : { kind: "Status", code: status, message: "nope" };
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: "me" }],
      contexts: [{ name: "fake", cluster: "fake", user: "me" }],
      currentContext: "fake",
    });
    writer = kubeClusterWriter(kc, "resumable-operator");
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    seen.length = 0;
    status = 200;
    hang = false;
  });

  it("merge-patches the status subresource, pinned to the resourceVersion", async () => {
    await writer.patchRunStatus("team", "mnist", "42", { phase: "Running", nextAttemptAt: null });
    assert.deepEqual(seen, [
      {
        method: "PATCH",
        path: "/apis/resumable.dev/v1alpha1/namespaces/team/trainingruns/mnist/status",
        contentType: "application/merge-patch+json",
        body: { metadata: { resourceVersion: "42" }, status: { phase: "Running", nextAttemptAt: null } },
      },
    ]);
  });

  it("fails a status write the apiserver refuses as stale", async () => {
    status = 409;
    await assert.rejects(writer.patchRunStatus("team", "mnist", "41", { phase: "Running" }));
  });

  it("takes AlreadyExists as success for creates, and fails on other errors", async () => {
    status = 409;
    await writer.createPod("team", { metadata: { name: "mnist-1" } });
    await writer.createPvc("team", { metadata: { name: "mnist-checkpoints" } });
    await writer.createService("team", { metadata: { name: "mnist" } });
    assert.deepEqual(seen.map((s) => `${s.method} ${s.path}`), [
      "POST /api/v1/namespaces/team/pods",
      "POST /api/v1/namespaces/team/persistentvolumeclaims",
      "POST /api/v1/namespaces/team/services",
    ]);
    status = 500;
    await assert.rejects(writer.createPod("team", { metadata: { name: "mnist-1" } }));
  });

  it("deletes with the grace period and a uid precondition; NotFound and a replaced pod are success", async () => {
    status = 404;
    await writer.deletePod("team", "mnist-1", { uid: "u1", gracePeriodSeconds: 0 });
    status = 409;
    await writer.deletePod("team", "mnist-1", { uid: "u1" });
    assert.equal(seen[0]!.method, "DELETE");
    assert.equal(seen[0]!.path, "/api/v1/namespaces/team/pods/mnist-1");
    assert.deepEqual(seen[0]!.body, { gracePeriodSeconds: 0, preconditions: { uid: "u1" } });
    status = 403;
    await assert.rejects(writer.deletePod("team", "mnist-1", {}));
  });

  // The chart grants the operator patch on pods and claims; these are the only patches it sends.
  for (const [what, patch, path, annotation, value] of [
    ["a pod only in its one checkpoint-request annotation, pinned to the pod's uid", () => writer.patchPodAnnotation("team", "mnist-1", "u1", "resumable.dev/checkpoint-request", '{"id":"aws-spot-itn@spot-a"}'), "/api/v1/namespaces/team/pods/mnist-1", "resumable.dev/checkpoint-request", '{"id":"aws-spot-itn@spot-a"}'],
    ["a claim only in its one rescheduled-pod annotation, pinned to the claim's uid", () => writer.patchClaimAnnotation("team", "mnist-checkpoints", "u1", "resumable.dev/rescheduled-pod", "p1"), "/api/v1/namespaces/team/persistentvolumeclaims/mnist-checkpoints", "resumable.dev/rescheduled-pod", "p1"],
  ] as const) {
    it(`patches ${what}`, async () => {
      await patch();
      assert.deepEqual(seen, [{ method: "PATCH", path, contentType: "application/merge-patch+json", body: { metadata: { uid: "u1", annotations: { [annotation]: value } } } }]);
    });
  }

  it("gives up on a request the server never answers, so the pass can be retried", async () => {
    hang = true;
    const impatient = kubeClusterWriter(kc, "resumable-operator", 200);
    const err = await impatient.createPod("team", { metadata: { name: "mnist-1" } }).then(() => undefined, (e: unknown) => e);
    assert.ok(err, "the write was not given up on");
    assert.equal(httpStatus(err), undefined, "a timeout is not an HTTP status");
    assert.equal(networkFailure(err), "timed out");
    await assert.rejects(impatient.patchRunStatus("team", "mnist", "1", {}));
  });

  it("creates core/v1 events", async () => {
    await writer.createEvent("team", { metadata: { name: "mnist.1" }, involvedObject: { name: "mnist" } });
    assert.equal(seen[0]!.path, "/api/v1/namespaces/team/events");
  });

  it("times each write by name and result, and still passes errors and tolerated statuses through", async () => {
    const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
    const timed = timedWriter(writer, (labels) => metrics.apiWriteDuration.startTimer(labels));
    await timed.patchRunStatus("team", "mnist", "7", { phase: "Running" });
    status = 409;
    await timed.createPod("team", { metadata: { name: "mnist-1" } }); // AlreadyExists: success
    await assert.rejects(timed.patchRunStatus("team", "mnist", "7", {}), (err: unknown) => httpStatus(err) === 409);
    const text = await metrics.registry.metrics();
    const count = (write: string, result: string): number =>
      Number(text.match(new RegExp(`resumable_api_write_duration_seconds_count\\{write="${write}",result="${result}"\\} (\\d+)`))?.[1] ?? 0);
    assert.equal(count("patchRunStatus", "success"), 1);
    assert.equal(count("patchRunStatus", "error"), 1);
    assert.equal(count("createPod", "success"), 1);
    assert.equal(count("createEvent", "success"), 0);
    assert.equal(seen.length, 3, "each timed call made its one request");
  });
});
