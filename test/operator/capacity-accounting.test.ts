import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AttemptRecord, TrainingRunStatus } from "../../operator/src/api/status.js";
import { liveAccounting, nextAccounting, type PriceTable } from "../../operator/src/model/accounting.js";

const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 12, 0, s)).toISOString();

const PRICES: PriceTable = {
  currency: "USD",
  instanceTypes: { "n1-standard-4": { spot: 0.36, onDemand: 3.6 } },
  perGpu: { spot: 0.72, onDemand: 1.8 },
};

/**
 * Attempt 1 on spot (n1-standard-4, 1 GPU): 0..100 s, steps 0..100, preempted; 20 s gap.
 * Attempt 2 resumes from 80 (20 steps lost, 20 s at attempt 1's pace), on on-demand with
 * 2 GPUs (priced per GPU): 120..220 s, then moved back; 10 s gap.
 * Attempt 3 on spot resumes from 200 (attempt 2 reached 200: nothing lost), running.
 */
const history: AttemptRecord[] = [
  { attempt: 1, pod: "r-1", capacityType: "spot", instanceType: "n1-standard-4", startTime: at(0), endTime: at(100), endReason: "Preempted", resumedFromStep: 0, reachedStep: 100 },
  { attempt: 2, pod: "r-2", capacityType: "on-demand", capacityReason: "AfterPreemptions", instanceType: "e2-standard-4", gpus: 2, startTime: at(120), endTime: at(220), endReason: "Moved", resumedFromStep: 80, reachedStep: 200 },
  { attempt: 3, pod: "r-3", capacityType: "spot", capacityReason: "ReturnToSpot", instanceType: "n1-standard-4", startTime: at(230), resumedFromStep: 200 },
];

describe("capacity accounting", () => {
  const a = nextAccounting({}, history, PRICES);

  it("splits GPU-seconds by where each attempt ran, times its GPUs, ended attempts only", () => {
    assert.equal(a.spotGpuSeconds, 100);
    assert.equal(a.onDemandGpuSeconds, 200);
    assert.equal(a.spotSeconds, 100);
    assert.equal(a.onDemandSeconds, 100);
  });

  it("counts lost GPU-seconds as recomputed steps at the measured pace plus the restart gaps", () => {
    // 20 steps at 1 s/step and the 20 s gap on 1 GPU; the 10 s gap after the move on 2 GPUs.
    assert.equal(a.lostGpuSeconds, 20 + 20 + 10 * 2);
    assert.equal(a.spotPreemptions, 1);
    assert.equal(a.preemptionsPerSpotHour, 36);
  });

  it("prices by instance type first, else per GPU, and compares with the same useful training all on-demand", () => {
    assert.equal(a.spotCost, 0.01); // 100 s at 0.36/h
    assert.equal(a.onDemandCost, 0.1); // 100 s at 2 × 1.8/h
    assert.equal(a.estimatedCost, 0.11);
    // Useful: 80 s of attempt 1 at its on-demand 3.6/h, 100 s of attempt 2 at 3.6/h.
    assert.equal(a.allOnDemandCost, 0.18);
    assert.equal(a.saving, 0.07);
    assert.equal(a.currency, "USD");
  });

  it("counts the gap after a preemption until the next attempt that ran, across a pod replaced before it started", () => {
    const replaced: AttemptRecord[] = [
      { attempt: 1, pod: "r-1", capacityType: "spot", startTime: at(0), endTime: at(100), endReason: "Preempted", resumedFromStep: 0, reachedStep: 100 },
      { attempt: 2, pod: "r-2", capacityType: "spot", endTime: at(130), endReason: "Moved", endDetail: "PendingOnSpot" },
      { attempt: 3, pod: "r-3", capacityType: "on-demand", startTime: at(135), resumedFromStep: 100 },
    ];
    assert.equal(nextAccounting({}, replaced, PRICES).lostGpuSeconds, 35);
  });

  it("leaves the cost unset rather than guess when an attempt has no price", () => {
    const unpriced = nextAccounting({}, history, { instanceTypes: PRICES.instanceTypes });
    assert.equal(unpriced.estimatedCost, undefined);
    assert.equal(unpriced.saving, undefined);
    assert.equal(unpriced.spotGpuSeconds, 100, "the GPU-seconds are still counted");
  });

  it("keeps attempts trimmed from the bounded history counted", () => {
    // Play the history in one pass per attempt, trimming to the newest two each time.
    let status: TrainingRunStatus = {};
    for (let n = 1; n <= history.length; n++) {
      const attempts = history.slice(0, n).slice(-2);
      status = { attempts, accounting: nextAccounting(status, attempts, PRICES) };
    }
    assert.deepEqual(status.accounting, a);
  });

  it("adds the running attempt up to now for the metrics and the CLI, and only there", () => {
    const status: TrainingRunStatus = { attempts: history, accounting: a };
    const live = liveAccounting(status, PRICES, new Date(at(290)));
    assert.equal(live.spotGpuSeconds, 160);
    assert.equal(live.onDemandGpuSeconds, 200);
    assert.equal(live.spotCost, 0.016);
    assert.deepEqual(nextAccounting(status, history, PRICES), a, "a pass that changed nothing changes no total");
  });
});
