import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION } from "@resumable/protocol";
import { checkpointRequestFor, DEFAULT_NOTICE_SIGNALS, nodeNotice, parseNoticeSignals } from "../../operator/src/model/notice.js";

const node = (spec: V1Node["spec"], conditions: NonNullable<V1Node["status"]>["conditions"] = []): V1Node => ({ metadata: { name: "spot-a" }, spec, status: { conditions } });
const now = new Date("2026-11-30T12:00:00Z");

test("each default notice taint is recognised and named after its source", () => {
  const cases: [string, string][] = [
    ["aws-node-termination-handler/spot-itn", "aws-spot-itn"],
    ["aws-node-termination-handler/rebalance-recommendation", "aws-rebalance-recommendation"],
    ["aws-node-termination-handler/scheduled-maintenance", "aws-scheduled-maintenance"],
    ["karpenter.sh/disrupted", "karpenter-disrupted"],
    ["cloud.google.com/impending-node-termination", "gke-impending-termination"],
    ["remediator.kubernetes.azure.com/unschedulable", "aks-autodrain"],
  ];
  for (const [key, source] of cases) {
    assert.equal(nodeNotice(node({ taints: [{ key, effect: "NoSchedule" }] }), DEFAULT_NOTICE_SIGNALS)?.source, source, key);
  }
});

test("a spot-itn taint on a cordoned node is the spot-itn notice, not the cordon", () => {
  const n = node({ unschedulable: true, taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }, { key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] });
  assert.equal(nodeNotice(n, DEFAULT_NOTICE_SIGNALS)?.source, "aws-spot-itn");
  assert.equal(nodeNotice(node({ unschedulable: true }), DEFAULT_NOTICE_SIGNALS)?.source, "cordon");
});

test("no notice on a plain spot node (its spot taint is not a notice)", () => {
  assert.equal(nodeNotice(node({ taints: [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" }] }), DEFAULT_NOTICE_SIGNALS), undefined);
  assert.equal(nodeNotice(undefined, DEFAULT_NOTICE_SIGNALS), undefined);
});

test("configured signals: a condition, a taint added to the defaults, and bad entries named", () => {
  const signals = parseNoticeSignals("default, vm-event=condition:VMEventScheduled=True, drain=taint:example.com/draining");
  assert.equal(signals.length, DEFAULT_NOTICE_SIGNALS.length + 2);
  const n = node({}, [{ type: "VMEventScheduled", status: "True", lastTransitionTime: new Date("2026-11-30T11:59:00Z") }]);
  assert.deepEqual(nodeNotice(n, signals), { source: "vm-event", node: "spot-a", detail: "condition VMEventScheduled=True", since: "2026-11-30T11:59:00.000Z" });
  assert.equal(nodeNotice(node({}, [{ type: "VMEventScheduled", status: "False" }]), signals), undefined);
  assert.deepEqual(parseNoticeSignals("none"), [], "none: no notices watched");
  assert.throws(() => parseNoticeSignals("Bad Name=cordon"), /notice signal "Bad Name=cordon"/);
  assert.throws(() => parseNoticeSignals("x=taint:"), /"taint:" is not taint:KEY/);
  assert.throws(() => parseNoticeSignals("x=condition:Ready"), /is not taint:KEY, condition:TYPE=STATUS/);
});

test("one checkpoint request per notice and pod; another signal on the node is a new one", () => {
  const notice = nodeNotice(node({ taints: [{ key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] }), DEFAULT_NOTICE_SIGNALS)!;
  const pod: V1Pod = { metadata: { name: "run-1", annotations: {} } };
  const request = checkpointRequestFor(pod, notice, now.toISOString());
  assert.deepEqual(request, { id: "aws-spot-itn@spot-a", reason: "aws-spot-itn: taint aws-node-termination-handler/spot-itn on node spot-a", at: now.toISOString() });
  const asked: V1Pod = { metadata: { name: "run-1", annotations: { [CHECKPOINT_REQUEST_ANNOTATION]: JSON.stringify(request) } } };
  assert.equal(checkpointRequestFor(asked, notice, new Date(now.getTime() + 5000).toISOString()), undefined, "already asked");
  assert.equal(checkpointRequestFor(asked, { ...notice, source: "cordon" }, now.toISOString())?.id, "cordon@spot-a");
  assert.ok(asked.metadata!.annotations![CHECKPOINT_REQUEST_ANNOTATION]);
});

test("--notice-signals / RESUMABLE_NOTICE_SIGNALS: defaults when unset, none, and a bad entry refused by name", async () => {
  const { loadConfig } = await import("../../operator/src/config/config.js");
  const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as Exclude<ReturnType<typeof loadConfig>, "help">;
  assert.deepEqual(config([]).settings.noticeSignals, DEFAULT_NOTICE_SIGNALS);
  assert.deepEqual(config(["--notice-signals=none"]).settings.noticeSignals, []);
  assert.deepEqual(config([], { RESUMABLE_NOTICE_SIGNALS: "drain=taint:example.com/draining" }).settings.noticeSignals, [{ source: "drain", taint: "example.com/draining" }]);
  assert.throws(() => config(["--notice-signals=drain=taint"]), /--notice-signals: notice signal "drain=taint"/);
});
