import assert from "node:assert/strict";
import { test } from "node:test";
import { NOTICE_KINDS, noticeSpec, parseNotice } from "./faults.js";

test("a notice kind becomes its handler's NoSchedule taint, or a cordon, keeping the node's other taints", () => {
  const spot = { key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" };
  assert.deepEqual(noticeSpec("aws-spot-itn", { taints: [spot] }), { taints: [spot, { key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] });
  assert.deepEqual(noticeSpec("karpenter-disrupted", {}), { taints: [{ key: "karpenter.sh/disrupted", effect: "NoSchedule" }] });
  assert.deepEqual(noticeSpec("cordon", { taints: [spot] }), { unschedulable: true });
  const once = noticeSpec("aws-spot-itn", { taints: [spot] });
  assert.deepEqual(noticeSpec("aws-spot-itn", once), once, "posted twice: one taint");
  for (const kind of Object.keys(NOTICE_KINDS)) assert.ok(parseNotice({ "resumable.dev/fault-notice": kind }), kind);
});

test("the notice annotations: default 10 s, bad kinds and numbers named", () => {
  assert.equal(parseNotice({}), undefined);
  assert.deepEqual(parseNotice({ "resumable.dev/fault-notice": "cordon" }), { kind: "cordon", seconds: 10 });
  assert.deepEqual(parseNotice({ "resumable.dev/fault-notice": "aws-spot-itn", "resumable.dev/fault-notice-seconds": "2.5" }), { kind: "aws-spot-itn", seconds: 2.5 });
  assert.match(String(parseNotice({ "resumable.dev/fault-notice": "azure" })), /fault-notice=azure: unknown; one of aws-spot-itn/);
  assert.match(String(parseNotice({ "resumable.dev/fault-notice": "cordon", "resumable.dev/fault-notice-seconds": "soon" })), /fault-notice-seconds=soon: expected seconds/);
});
