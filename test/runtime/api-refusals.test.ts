// A refused write is told apart by what it means for the run: an invalid pod is permanent,
// a quota, an admission policy or RBAC may change and is retried.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { classifyRefusal, failureFields } from "@resumable/kube-runtime";

/** An ApiException as client-node throws it for any non-2xx answer: the body is the raw Status text. */
function refused(code: number, status: Record<string, unknown>): ApiException<string> {
  return new ApiException(code, "Unknown API Status Code!", JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, ...status }), {
    "content-type": "application/json",
  });
}

const INVALID_NODE_SELECTOR = refused(422, {
  reason: "Invalid",
  message: 'Pod "mnist-1" is invalid: spec.nodeSelector: Invalid value: "bad key!": name part must consist of alphanumeric characters',
  details: { name: "mnist-1", kind: "Pod", causes: [{ reason: "FieldValueInvalid", message: 'Invalid value: "bad key!": name part must consist of alphanumeric characters', field: "spec.nodeSelector" }] },
});

describe("api errors: what a refusal means", () => {
  it("422 Invalid with field causes: the object itself is invalid (permanent), causes kept", () => {
    const r = classifyRefusal(INVALID_NODE_SELECTOR);
    assert.equal(r?.kind, "invalid");
    assert.ok(r?.kind === "invalid");
    assert.deepEqual(r.causes.map((c) => c.field), ["spec.nodeSelector"]);
    assert.match(r.message, /^Pod "mnist-1" is invalid: spec\.nodeSelector/);
  });

  it("403 exceeded quota is a quota refusal, not an invalid spec", () => {
    const r = classifyRefusal(refused(403, { reason: "Forbidden", message: 'pods "mnist-1" is forbidden: exceeded quota: gpu, requested: nvidia.com/gpu=1, used: nvidia.com/gpu=4, limited: nvidia.com/gpu=4' }));
    assert.equal(r?.kind, "quota");
  });

  it("a webhook's no is an admission refusal whatever its code, 422 included", () => {
    for (const code of [400, 403, 422]) {
      const r = classifyRefusal(refused(code, { reason: "Invalid", message: 'admission webhook "pods.policy.example.com" denied the request: GPUs need a cost center', details: { causes: [{ field: "metadata.labels" }] } }));
      assert.equal(r?.kind, "admission", `HTTP ${code}`);
    }
  });

  it("a ValidatingAdmissionPolicy's no (422 Invalid by default) is an admission refusal", () => {
    const r = classifyRefusal(refused(422, {
      reason: "Invalid",
      message: "pods \"mnist-1\" is forbidden: ValidatingAdmissionPolicy 'gpu-quota' with binding 'gpu-quota' denied request: too many GPUs",
      details: { causes: [{ field: "spec.containers" }] },
    }));
    assert.equal(r?.kind, "admission");
  });

  it("403 without quota is RBAC; 422 without field causes is not taken for an invalid object", () => {
    assert.equal(classifyRefusal(refused(403, { reason: "Forbidden", message: 'pods is forbidden: User "system:serviceaccount:x:y" cannot create resource "pods"' }))?.kind, "forbidden");
    assert.equal(classifyRefusal(refused(422, { reason: "Invalid", message: "something" }))?.kind, "other");
    assert.equal(classifyRefusal(refused(409, { reason: "AlreadyExists", message: "exists" })), undefined, "not a refusal");
  });

  it("log fields carry the apiserver's Status message, never client-node's raw exception text", () => {
    const fields = failureFields(INVALID_NODE_SELECTOR);
    assert.deepEqual(Object.keys(fields).sort(), ["error", "httpStatus", "reason"]);
    assert.equal(fields.httpStatus, 422);
    assert.equal(fields.reason, "Invalid");
    assert.match(String(fields.error), /^Pod "mnist-1" is invalid: spec\.nodeSelector/);
    assert.doesNotMatch(JSON.stringify(fields), /Unknown API Status Code|HTTP-Code|Headers/);
  });
});
