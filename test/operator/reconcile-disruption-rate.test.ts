// A trainer that checkpoints as often as it pays (everySteps: auto) is told how often the
// capacity it runs on is lost: the operator's prior at first, the run's own rate as it accrues.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { expectedDisruptionsPerHour } from "../../operator/src/model/accounting.js";
import { FakeClock, SETTINGS, aRun, pass } from "./reconcile-fixtures.js";

const AUTO = { model: "mlp", totalSteps: 600, checkpoint: { everySteps: "auto" } };
const rateOf = (pod: V1Pod | undefined) => pod?.spec?.containers[0]?.env?.find((e) => e.name === "RESUMABLE_DISRUPTIONS_PER_HOUR")?.value;
const createdPod = (d: ReturnType<typeof pass>) => d.actions.find((a) => a.kind === "createPod")?.pod;

describe("the disruption rate an auto-interval trainer is told", () => {
  it("a new run on spot: the operator's prior", () => {
    const d = pass(aRun({ training: AUTO, scheduling: { spot: true } }), [], new FakeClock().now());
    assert.equal(rateOf(createdPod(d)), "1");
  });

  it("a run with a fixed interval is told nothing: its pod stays exactly as it was", () => {
    const d = pass(aRun({ scheduling: { spot: true } }), [], new FakeClock().now());
    assert.ok(createdPod(d), "a pod is created");
    assert.equal(rateOf(createdPod(d)), undefined);
  });

  it("the run's own spot hours take over from the prior as they accrue; on-demand gets a tenth of the prior", () => {
    // 3 preemptions in 9 spot hours: (3 + 1) / (9 + 1) = 0.4, then towards 1/3 as hours go on.
    assert.equal(expectedDisruptionsPerHour({ spotSeconds: 9 * 3600, spotPreemptions: 3 } as never, "spot", 1), 0.4);
    assert.ok(Math.abs(expectedDisruptionsPerHour({ spotSeconds: 999 * 3600, spotPreemptions: 333 } as never, "spot", 1) - 1 / 3) < 0.001);
    assert.equal(expectedDisruptionsPerHour(undefined, "on-demand", 1), 0.1);
    const d = pass(aRun({ training: AUTO, scheduling: { spot: false } }), [], new FakeClock().now(), {}, { ...SETTINGS, spotDisruptionsPerHour: 2 });
    assert.equal(rateOf(createdPod(d)), "0.2");
  });
});
