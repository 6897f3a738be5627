// How an add-on's own manifests are turned into ones for a manager on the host: every webhook
// (admission, and a CRD's conversion) is reached by URL, and two add-ons' kubebuilder-named
// configurations do not overwrite each other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostWebhooks } from "./addon.js";

const service = (path?: string) => ({ service: { name: "webhook-service", namespace: "system", ...(path ? { path } : {}) } });

test("every admission webhook's service becomes a URL on the host with its path and the caBundle, under the add-on's name", () => {
  const config = {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: "mutating-webhook-configuration" },
    webhooks: [
      { name: "mpod.kb.io", clientConfig: service("/mutate--v1-pod"), failurePolicy: "Fail" },
      { name: "mjob.kb.io", clientConfig: service("/mutate-batch-v1-job"), namespaceSelector: { matchLabels: { a: "b" } } },
    ],
  };
  const out = hostWebhooks(config, "kueue", "https://127.0.0.1:9443", "Q0E=");
  assert.equal(out.metadata?.name, "kueue-mutating-webhook-configuration");
  assert.deepEqual(out.webhooks, [
    { name: "mpod.kb.io", clientConfig: { url: "https://127.0.0.1:9443/mutate--v1-pod", caBundle: "Q0E=" }, failurePolicy: "Fail" },
    { name: "mjob.kb.io", clientConfig: { url: "https://127.0.0.1:9443/mutate-batch-v1-job", caBundle: "Q0E=" }, namespaceSelector: { matchLabels: { a: "b" } } },
  ]);
  assert.equal(config.metadata.name, "mutating-webhook-configuration", "the input is left as it was");
});

test("a CRD's conversion webhook is reached by URL too, and the CRD keeps its own name", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "workloads.kueue.x-k8s.io" },
    spec: { conversion: { strategy: "Webhook", webhook: { clientConfig: service("/convert"), conversionReviewVersions: ["v1"] } } },
  };
  const out = hostWebhooks(crd, "kueue", "https://127.0.0.1:9443", "Q0E=") as typeof crd & { spec: { conversion: { webhook: { clientConfig: unknown } } } };
  assert.equal(out.metadata.name, "workloads.kueue.x-k8s.io");
  assert.deepEqual(out.spec.conversion.webhook.clientConfig, { url: "https://127.0.0.1:9443/convert", caBundle: "Q0E=" });
});
