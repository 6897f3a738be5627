// Spot runs dry: both spot nodes are gone (one reclaimed, one cordoned), so the next
// attempt sits unschedulable on spot until the fallback policy moves it to ondemand-a.
// Once a spot node is back (uncordoned) and returnToSpotAfterSeconds has passed, the run
// moves back to spot at a checkpoint boundary: a planned move, not a preemption, that
// loses no step. The run ends bit-identical to its uninterrupted twin, each resume proven
// by the trainers' own records, with every attempt's capacity and the cost in its status.
// Then a return to spot that finds no room after all (a pod the operator does not watch took
// it) goes back to on-demand after the operator's bound, with afterPendingSeconds unset.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";
import { describe as describeRun } from "../../operator/src/ctl/status.js";

// A cluster of its own, not the shared one: it takes both spot nodes away and brings one back.
const e = useE2E({ startOperator: false });

/** Hourly prices of the local cluster's instance types (illustrative). */
const PRICES = { currency: "USD", instanceTypes: { "n1-standard-4": { spot: 0.18, onDemand: 0.54 }, "e2-standard-4": { spot: 0.05, onDemand: 0.13 } } };
const RUN = "fallback";
const SPOT_NODES = ["spot-a", "spot-b"];
const RETURN_BOUND = 20;

describe("capacity fallback", { timeout: 1_200_000 }, () => {
  before(async () => {
    // The bound on a returned pod's wait is the operator's (300 s by default, unit-tested):
    // 20 s here, so the stranded return does not wait five minutes.
    await e.startOperator([`--prices=${JSON.stringify(PRICES)}`, `--return-to-spot-pending-seconds=${RETURN_BOUND}`]);
  });

  test("spot runs dry: on-demand after the pending timeout, back to spot at a checkpoint, bit-identical", async (t) => {
    const training = { ...SMALL_TRAINING, totalSteps: 800 };
    const spec = { training, scheduling: { spot: true, fallback: { afterPendingSeconds: 5, returnToSpotAfterSeconds: 6 } } };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(RUN, spec)));
    await e.waitRun(RUN, "training on spot", pastStep(100));
    const reclaimed = (await currentPod(e, RUN)).spec!.nodeName!;
    const spare = SPOT_NODES.find((n) => n !== reclaimed)!;
    assert.ok(SPOT_NODES.includes(reclaimed), `the first attempt ran on spot, not ${reclaimed}`);

    // No spot capacity left: the spare is cordoned, the run's node is reclaimed (and deleted).
    await e.kubectl(["cordon", spare]);
    await e.kubectl(["annotate", "node", reclaimed, "resumable.dev/fault=spot-reclaim"]);
    const onDemand = await e.waitRun(RUN, "training on ondemand-a", (r) => {
      const newest = r.status?.attempts?.at(-1);
      return r.status?.capacity?.type === "on-demand" && newest?.node === "ondemand-a" && pastStep(1)(r);
    });
    assert.equal(onDemand.status?.capacity?.reason, "PendingOnSpot");

    // A spot node is back: after returnToSpotAfterSeconds the run returns at a checkpoint.
    await e.kubectl(["uncordon", spare]);
    const run = await e.waitRun(RUN, "Succeeded", isPhase("Succeeded"));
    // What `resumable status` shows: the README's example figures come from here.
    t.diagnostic(describeRun(run));

    const attempts = run.status?.attempts ?? [];
    const where = attempts.map((a) => `${a.attempt}:${a.capacityType}/${a.capacityReason}@${a.node ?? "-"} ${a.endReason}(${a.endDetail ?? ""})`).join("; ");
    assert.deepEqual(
      attempts.map((a) => [a.capacityType, a.endReason]),
      [
        ["spot", "Preempted"],
        ["spot", "Moved"],
        ["on-demand", "Moved"],
        ["spot", "Succeeded"],
      ],
      where,
    );
    assert.equal(attempts[1]?.endDetail, "PendingOnSpot", `the unschedulable spot pod was replaced: ${where}`);
    assert.equal(attempts[1]?.node, undefined, `the replaced pod never ran: ${where}`);
    assert.equal(attempts[2]?.node, "ondemand-a", where);
    assert.equal(attempts[2]?.endDetail, "ReturnToSpot", where);
    assert.equal(attempts[3]?.node, spare, where);
    assert.equal(run.status?.preemptions, 1, "the planned return is not a preemption");
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.capacity?.moves, 2);
    assert.equal(run.status?.lostSteps, 0, "both the reclaim and the planned return stopped at a checkpoint");

    // The trainers' own records: every attempt that ran resumed where the one before stopped.
    const records = assertResumeRecorded(e, run, { graceful: true });
    assert.deepEqual(records.map((r) => r.attempt), [1, 3, 4], "the replaced pending pod never ran a trainer");
    assert.ok(records.every((r, i) => i === 0 || r.resumedFromStep > 0));

    const a = run.status?.accounting;
    assert.ok(a, "status.accounting");
    assert.ok(a.spotGpuSeconds > 0 && a.onDemandGpuSeconds > 0, JSON.stringify(a));
    assert.ok(a.lostGpuSeconds > 0, `the restart gaps are lost time: ${JSON.stringify(a)}`);
    assert.ok((a.estimatedCost ?? 0) > 0 && (a.allOnDemandCost ?? 0) > 0 && a.saving !== undefined, JSON.stringify(a));
    assert.equal(a.currency, "USD");

    const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${RUN}` });
    const reasons = events.items.map((ev) => ev.reason);
    assert.ok(reasons.includes("FellBackToOnDemand"), reasons.join(", "));
    assert.ok(reasons.includes("ReturnedToSpot"), reasons.join(", "));

    await assertBitIdentical(run);
  });

  test("a returned pod with no room after all goes back to on-demand after the operator's bound; periodic saves off, the return still happens", async () => {
    const name = "stranded";
    // No periodic saves: the return's checkpoint can only come from the checkpoint request.
    // Slow steps: the on-demand attempt must outlast returnToSpotAfterSeconds and the requested
    // checkpoint, or it finishes before the return is tried (as it did once in CI, at 70 steps/s).
    const training = { ...SMALL_TRAINING, totalSteps: 600, stepDelayMs: 50, checkpoint: { everySteps: 0, everySeconds: 0, keep: 3 } };
    const spec = { training, resources: { requests: { cpu: "1" } }, scheduling: { spot: true, fallback: { afterPreemptions: 1, returnToSpotAfterSeconds: 6 } } };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, spec)));
    await e.waitRun(name, "training on spot", pastStep(50));
    const spot = (await currentPod(e, name)).spec!.nodeName!;
    // Only the squatted node may look like room: after the first test the other spot node is
    // gone; run alone, it is still there, and would take the returned pod.
    for (const other of SPOT_NODES.filter((n) => n !== spot)) await e.kubectl(["cordon", other]).catch(() => undefined);
    await e.kubectl(["delete", "pod", `${name}-1`]);
    // A pod the operator does not watch takes the spot node's CPU: its cache still sees room there.
    const squatter = { apiVersion: "v1", kind: "Pod", metadata: { name: "squatter", namespace: NAMESPACE }, spec: { nodeName: spot, containers: [{ name: "sleep", image: "busybox", command: ["sleep", "3600"], resources: { requests: { cpu: "3500m" } } }] } };
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(squatter));

    const stranded = await e.waitRun(
      name,
      "the returned pod moved back to on-demand",
      (r) => (r.status?.attempts ?? []).some((a) => a.capacityReason === "ReturnToSpot" && a.endDetail === "PendingOnSpot"),
      5 * 60_000,
    );
    const attempts = stranded.status?.attempts ?? [];
    const where = attempts.map((a) => `${a.attempt}:${a.capacityType}/${a.capacityReason}@${a.node ?? "-"} ${a.endReason}(${a.endDetail ?? ""})`).join("; ");
    assert.deepEqual(attempts.slice(0, 3).map((a) => [a.capacityType, a.endReason, a.endDetail]), [
      ["spot", "Preempted", "PodDeleted"],
      ["on-demand", "Moved", "ReturnToSpot"],
      ["spot", "Moved", "PendingOnSpot"],
    ], where);
    assert.equal(attempts[2]?.node, undefined, `the returned pod never ran: ${where}`);
    const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name}` });
    assert.ok(events.items.some((ev) => ev.reason === "FellBackToOnDemand" && ev.message?.includes(`the bound on a return to spot, ${RETURN_BOUND} s`)), events.items.map((ev) => `${ev.reason}: ${ev.message}`).join("\n"));

    // Where the run ends is not asserted: the on-demand attempt may finish its steps before the
    // next return is due (it did once in CI). A return that finds room is the first test's.
    await e.kubectl(["delete", "pod", "squatter", "--grace-period=0", "--force"]);
    const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1, "only the deleted pod: the moves are planned");
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0, "the deletion flushed, the return stopped at its requested checkpoint");
  });
});
