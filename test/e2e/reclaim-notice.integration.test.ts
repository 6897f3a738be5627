// A reclaim notice buys a checkpoint before the shutdown (docs/reclaim-notices.md). Two runs
// of the same deliberately slow model (each step 8 s, the node's shutdown grace 2 s: the step
// in progress never finishes inside the grace, so the final flush never happens) go through
// the same graceful spot reclaim, one on its own node each (one GPU per node):
//   - "unwarned": no notice. The reclaim lands right after step 4; the last checkpoint is the
//     periodic one at step 3, so step 4 is computed twice.
//   - "warned": aws-node-termination-handler's spot-itn taint first; the operator asks the
//     trainer for a checkpoint, and the reclaim lands right after the early checkpoint commits,
//     so the next attempt starts exactly where the reclaimed one stopped.
// Both verdicts come from the trainers' own records (their pod logs) and from the run's status.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { eventually } from "../support/cluster.js";
import { NAMESPACE } from "./harness.js";
import { useE2E } from "./harness.js";
import { assertResumeRecorded, currentPod, isPhase } from "./expect.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";
import { lostStepsFromRecords, trainerAttempts } from "./trainer-records.js";
import { twinWeightsSha256 } from "./twin.js";

// Four spot nodes with one GPU each and a 2 s shutdown grace (two reclaimed, two to resume on).
// A cluster of its own, not the shared one: its own node set, and notices taint its nodes.
const e = useE2E({ nodesFile: new URL("./reclaim-notice-nodes.json", import.meta.url).pathname });

const EVERY_STEPS = 3;
const SLOW_MODEL = {
  ...SMALL_TRAINING,
  totalSteps: 5,
  checkpoint: { everySteps: EVERY_STEPS, everySeconds: 0, keep: 3 },
  // Far longer than the node's 2 s shutdown grace, so SIGTERM mid-step always ends in SIGKILL.
  stepDelayMs: 8000,
};
const ONE_GPU = { limits: { "nvidia.com/gpu": "1" } };
const SPOT_ITN_TAINT = "aws-node-termination-handler/spot-itn";

type Line = Record<string, unknown>;

/** The first line of the run's first attempt's trainer log that `match` accepts. */
function firstAttemptLine(name: string, what: string, match: (line: Line) => boolean): Promise<Line> {
  return eventually(`${name}: first attempt's trainer logs ${what}`, async () => trainerAttempts(e, name)[0]?.lines.find(match), 5 * 60_000);
}

const isStep = (step: number) => (l: Line) => l.msg === "step" && l.step === step;

async function reclaimNode(name: string): Promise<void> {
  const node = (await currentPod(e, name)).spec!.nodeName!;
  await e.kubectl(["annotate", "node", node, "resumable.dev/fault=spot-reclaim"]);
}

/** No notice: the reclaim right after step 4, one past the periodic checkpoint at step 3. */
async function reclaimUnwarned(name: string): Promise<TrainingRun> {
  await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { training: SLOW_MODEL, resources: ONE_GPU })));
  await firstAttemptLine(name, "the periodic checkpoint at step 3", (l) => l.msg === "checkpoint committed" && l.step === EVERY_STEPS);
  await firstAttemptLine(name, "step 4", isStep(EVERY_STEPS + 1));
  await reclaimNode(name);
  return e.waitRun(name, "Succeeded", isPhase("Succeeded"));
}

/** The spot-itn taint right after step 1; the reclaim right after the early checkpoint commits. */
async function reclaimWarned(name: string): Promise<{ run: TrainingRun; earlyStep: number }> {
  await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name, { training: SLOW_MODEL, resources: ONE_GPU })));
  await firstAttemptLine(name, "step 1", isStep(1));
  const node = (await currentPod(e, name)).spec!.nodeName!;
  // What aws-node-termination-handler does on a spot interruption notice.
  await e.kubectl(["taint", "node", node, `${SPOT_ITN_TAINT}=${node}:NoSchedule`]);
  const early = await firstAttemptLine(name, "its early checkpoint", (l) => l.msg === "early checkpoint committed on request");
  await reclaimNode(name);
  const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"));
  return { run, earlyStep: early.step as number };
}

async function eventReasons(name: string): Promise<string[]> {
  const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name}` });
  return events.items.map((ev) => ev.reason ?? "");
}

describe("reclaim notice on a model whose step outlasts the shutdown grace", { timeout: 1_200_000 }, () => {
  let unwarned: TrainingRun;
  let warned: { run: TrainingRun; earlyStep: number };
  let twinSha: string;

  before(async () => {
    // Both reclaims at once, on different nodes: the file's wall time is one scenario's.
    [unwarned, warned, twinSha] = await Promise.all([
      reclaimUnwarned("unwarned"),
      reclaimWarned("warned"),
      twinWeightsSha256(SLOW_MODEL),
    ]);
  }, { timeout: 1_100_000 });

  test("without a notice the steps since the periodic checkpoint are lost", async () => {
    const run = unwarned;
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const first = run.status?.attempts?.[0];
    assert.equal(first?.endReason, "Preempted");
    assert.equal(first?.noticeAt, undefined, "no notice was seen");
    assert.equal(first?.earlyCheckpointStep, undefined);
    const records = assertResumeRecorded(e, run, { graceful: false });
    assert.equal(records[0]!.summary, undefined, "the step in progress outlived the grace: the trainer was killed before any flush");
    assert.equal(records[1]!.resumedFromStep, EVERY_STEPS, "resumed from the periodic checkpoint");
    assert.ok(lostStepsFromRecords(records) > 0, `the trainers' records show steps computed twice (reached ${records[0]!.reachedStep})`);
    assert.ok((run.status?.lostSteps ?? 0) > 0, `status.lostSteps ${run.status?.lostSteps} counts them`);
    const reasons = await eventReasons("unwarned");
    assert.ok(!reasons.includes("ReclaimNotice") && !reasons.includes("EarlyCheckpoint"), `no notice events: ${reasons.join(", ")}`);
    assert.equal(run.status?.result?.weightsSha256, twinSha, "weights differ from the uninterrupted run");
  });

  test("with an aws-node-termination-handler spot-itn notice no step is lost", async () => {
    const { run, earlyStep } = warned;
    assert.notEqual(earlyStep % EVERY_STEPS, 0, `the early checkpoint (step ${earlyStep}) is not a periodic one`);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const first = run.status?.attempts?.[0];
    assert.equal(first?.endReason, "Preempted");
    assert.ok(first?.noticeAt, "status.attempts[0].noticeAt");
    assert.equal(first?.noticeSource, "aws-spot-itn");
    assert.equal(first?.earlyCheckpointStep, earlyStep, "status.attempts[0].earlyCheckpointStep is the trainer's early checkpoint");
    assert.equal(typeof first?.noticeLeadSeconds, "number", "status.attempts[0].noticeLeadSeconds");
    assert.ok(first!.noticeLeadSeconds! >= 0);
    const records = assertResumeRecorded(e, run, { graceful: true }); // 0 lost: records and status.lostSteps
    assert.equal(records[1]!.resumedFromStep, earlyStep, "resumed from the early checkpoint");
    assert.equal(run.status?.attempts?.[1]?.resumedFromStep, earlyStep);
    const reasons = await eventually("warned: ReclaimNotice and EarlyCheckpoint events", async () => {
      const r = await eventReasons("warned");
      return r.includes("ReclaimNotice") && r.includes("EarlyCheckpoint") ? r : undefined;
    });
    assert.ok(reasons.length > 0);
    assert.equal(run.status?.result?.weightsSha256, twinSha, "weights differ from the uninterrupted run");
  });
});
