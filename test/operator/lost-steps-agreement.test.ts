// The lost steps of a run are shown three ways: the CLI's LOST column, status.lostSteps and
// the resumable_lost_steps_total counter. Each history below is played through reconcile as
// the trainer would report it; all three must say the same, per attempt and in total.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION, lostSteps, lostStepsOf } from "@resumable/protocol";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { describe as describeRun } from "../../operator/src/ctl/status.js";
import { OperatorMetrics } from "../../operator/src/metrics/operator-metrics.js";
import { RunObserver } from "../../operator/src/metrics/run-observer.js";
import { FakeClock, aPod, aRun, afterWrite, disruption, pass, running } from "./reconcile-fixtures.js";

/** One attempt as the trainer reports it: progress annotations while it runs, then its end. */
interface Attempt {
  progress: Record<string, unknown>[];
  end: (attempt: number) => V1Pod;
}

const progress = (step: number, resumedFromStep: number | null, checkpoint?: number) => ({
  step,
  totalSteps: 600,
  epoch: 0,
  loss: 0.5,
  resumedFromStep,
  checkpoint: checkpoint === undefined ? null : { step: checkpoint, time: "2026-11-28T12:00:00.000Z", bytes: 100, reason: "periodic" },
});
const summary = (reason: string, step: number, resumedFromStep: number | null, checkpoint?: number) => ({
  reason,
  step,
  totalSteps: 600,
  resumedFromStep,
  checkpoint: checkpoint === undefined ? null : { step: checkpoint, path: `/checkpoints/ckpt-${checkpoint}`, bytes: 100, saveSeconds: 0.1 },
  ...(reason === "failed" ? { error: "Error: boom", failure: { kind: "error", message: "Error: boom" } } : {}),
});

/** Drained at a step boundary: the final checkpoint is the step reached. */
const evicted = (step: number, resumedFromStep: number | null) => (n: number) =>
  aPod(n, { phase: "Failed", node: "spot-1", exitCode: 143, summary: summary("preempted", step, resumedFromStep, step), conditions: [disruption("EvictionByEvictionAPI")] });
/** Killed with its node: no summary, the last progress report is all there is. */
const nodeLost = () => (n: number) => aPod(n, { phase: "Failed", node: "spot-1", exitCode: 137, conditions: [disruption("DeletionByTaintManager")] });
const crashed = (step: number, resumedFromStep: number | null) => (n: number) =>
  aPod(n, { phase: "Failed", node: "spot-1", exitCode: 1, summary: summary("failed", step, resumedFromStep) });
const completed = (step: number, resumedFromStep: number | null) => (n: number) =>
  aPod(n, { phase: "Succeeded", node: "spot-1", exitCode: 0, summary: summary("completed", step, resumedFromStep, step) });

interface History {
  name: string;
  attempts: Attempt[];
  /** The LOST column, attempt by attempt ("-": the first attempt has no predecessor). */
  lost: string[];
}

const histories: History[] = [
  {
    name: "drained with a flushed checkpoint, resumed exactly there",
    attempts: [
      { progress: [progress(100, null, 100)], end: evicted(140, null) },
      { progress: [progress(200, 140, 200)], end: completed(600, 140) },
    ],
    lost: ["-", "0"],
  },
  {
    name: "node lost past the last periodic checkpoint",
    attempts: [
      { progress: [progress(200, null, 200), progress(250, null, 200)], end: nodeLost() },
      { progress: [progress(260, 200, 200)], end: completed(600, 200) },
    ],
    lost: ["-", "50"],
  },
  {
    name: "a fresh start reported only in the final summary (checkpoint volume lost)",
    attempts: [
      { progress: [progress(140, null, 140)], end: evicted(140, null) },
      { progress: [], end: crashed(30, null) },
      { progress: [progress(10, null)], end: completed(600, null) },
    ],
    lost: ["-", "140", "30"],
  },
  {
    name: "fallback to an older checkpoint after the newest was corrupt",
    attempts: [
      { progress: [progress(300, null, 300)], end: evicted(300, null) },
      { progress: [progress(250, 200, 200), progress(400, 200, 400)], end: evicted(400, 200) },
      { progress: [progress(450, 400, 400)], end: completed(600, 400) },
    ],
    lost: ["-", "100", "0"],
  },
];

/** Plays a history through reconcile; every status write also goes to the metrics observer. */
function play(history: History): { run: TrainingRun; metrics: OperatorMetrics } {
  const clock = new FakeClock();
  const metrics = new OperatorMetrics({ runs: () => [], queueDepth: () => 0 });
  const observer = new RunObserver(metrics);
  let run = aRun({ failurePolicy: { maxRetries: 10, backoff: { initialSeconds: 1, maxSeconds: 1 } } });
  const step = (pods: V1Pod[]) => {
    const decision = pass(run, pods, clock.advance(5));
    observer.statusWritten(run.status, decision.status, clock.now());
    run = afterWrite(run, decision);
    return decision;
  };
  history.attempts.forEach((attempt, i) => {
    const n = i + 1;
    const started = step([]);
    assert.ok(started.actions.some((a) => a.kind === "createPod"), `attempt ${n} started`);
    for (const report of attempt.progress) step([running(n, { progress: report })]);
    // An ended pod keeps its annotations: its last report is still there to read.
    const ended = attempt.end(n);
    const last = attempt.progress.at(-1);
    if (last !== undefined) ended.metadata = { ...ended.metadata, annotations: { [PROGRESS_ANNOTATION]: JSON.stringify(last) } };
    step([ended]);
  });
  assert.equal(run.status?.phase, "Succeeded", "every history ends in a success");
  return { run, metrics };
}

/** The LOST column of `resumable status`, top to bottom. */
function lostColumn(run: TrainingRun): string[] {
  const lines = describeRun(run).split("\n");
  const header = lines.findIndex((l) => l.startsWith("ATTEMPT"));
  const cells = (line: string) => line.trim().split(/ {3,}/);
  const column = cells(lines[header] ?? "").indexOf("LOST");
  assert.ok(column >= 0, "the timeline has a LOST column");
  return lines.slice(header + 1).map((line) => cells(line)[column] ?? "?");
}

async function counter(metrics: OperatorMetrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value ?? 0;
}

describe("lost steps: the CLI, status.lostSteps and resumable_lost_steps_total agree", () => {
  for (const history of histories) {
    it(history.name, async () => {
      const { run, metrics } = play(history);
      const expected = history.lost.reduce((sum, cell) => sum + (cell === "-" ? 0 : Number(cell)), 0);
      assert.deepEqual(lostColumn(run), history.lost, "the CLI's LOST column");
      assert.equal(run.status?.lostSteps, expected, "status.lostSteps");
      assert.equal(await counter(metrics, "resumable_lost_steps_total"), expected, "resumable_lost_steps_total");
      assert.equal(lostSteps(run.status?.attempts ?? []).total, expected, "the protocol's rule over the recorded history");
    });
  }
});

describe("the lost-steps rule", () => {
  it("is unknown until the attempt says where it resumed, and for an attempt with no predecessor", () => {
    assert.equal(lostStepsOf({ attempt: 1, reachedStep: 100 }, { attempt: 2 }), undefined);
    assert.equal(lostStepsOf(undefined, { attempt: 1, resumedFromStep: 0 }), undefined);
  });

  it("falls back to where the predecessor resumed when it reported no step of its own", () => {
    assert.equal(lostStepsOf({ attempt: 1, resumedFromStep: 300 }, { attempt: 2, resumedFromStep: 200 }), 100);
    assert.equal(lostStepsOf({ attempt: 1 }, { attempt: 2, resumedFromStep: 200 }), 0);
  });

  it("counts nothing for a resume past the predecessor's known step", () => {
    assert.equal(lostStepsOf({ attempt: 1, reachedStep: 100 }, { attempt: 2, resumedFromStep: 120 }), 0);
  });

  it("pairs attempts by number, so a trimmed history leaves its oldest attempt unknown", () => {
    const result = lostSteps([
      { attempt: 4, reachedStep: 90, resumedFromStep: 50 },
      { attempt: 5, resumedFromStep: 60, reachedStep: 100 },
    ]);
    assert.deepEqual(result, { perAttempt: [undefined, 30], total: 30 });
  });
});
