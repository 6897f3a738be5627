// One system of the adaptive-interval side by side (adaptive-interval.ts): the trainer as host
// processes on one checkpoint directory, attempt after attempt, each hit by the next
// disruption of a shared schedule when its own step log reaches that step. A hard loss is
// SIGKILL (no flush, as a node powered off); a graceful reclaim is SIGTERM and the final save.
// Everything counted comes from the trainers' own records (one trace line per step, ms times).
import { join } from "node:path";
import { lostStepsOf } from "@resumable/protocol";
import { recordsFromLines } from "../e2e/trainer-records.js";
import { repoRoot, startTrainer, tempDir, type LogLine } from "../trainer/helpers/trainer-process.js";
import { seededRandom } from "../support/seeded-random.js";

export type DisruptionKind = "hard" | "graceful";
export interface Disruption { atStep: number; kind: DisruptionKind }

/**
 * `count` disruptions at seeded steps spread over the run (none in its first or last tenth, so
 * every attempt trains past its start-up), alternating hard and graceful from a seeded first kind.
 */
export function disruptionSchedule(seed: number, totalSteps: number, count: number): Disruption[] {
  const rand = seededRandom(seed);
  const slot = (0.8 * totalSteps) / count;
  const firstHard = rand() < 0.5;
  return Array.from({ length: count }, (_, i) => ({
    atStep: Math.floor(0.1 * totalSteps + slot * (i + 0.2 + 0.6 * rand())),
    kind: (i % 2 === 0) === firstHard ? "hard" : "graceful",
  }));
}

export interface IntervalChange { atSeconds: number; steps: number; bound: string; overhead: number; lostSteps: number }

export interface SystemResult {
  name: string;
  /** Steps lost to each hard loss: computed by the hit attempt and again by the next. */
  lostPerHardLoss: number[];
  lostPerGraceful: number[];
  /** Training steps per second over the attempts' own step lines, saves' stalls included. */
  stepsPerSecond: number;
  /** The saves' stalls (the trainers' own figures) over the time those step lines span. */
  stallShare: number;
  /** First attempt's start to the last one's exit. */
  wallSeconds: number;
  attempts: number;
  saves: number;
  /**
   * Steps each periodic save spanned, snapshot to commit: its snapshot's step to the last step
   * line before its "checkpoint committed" line, in the attempt's own log.
   */
  saveSpans: number[];
  /** Under "auto": every interval chosen, seconds since the run started. */
  intervals: IntervalChange[];
  weightsSha256: string | undefined;
}

const trainerCli = [process.execPath, join(repoRoot, "trainer/dist/cli.js")];

export async function runSystem(
  name: string, training: Record<string, unknown>, schedule: Disruption[], env: Record<string, string> = {},
): Promise<SystemResult> {
  const dir = join(await tempDir("adaptive-bench-"), "ckpt");
  const started = Date.now();
  const pending = [...schedule];
  const attempts: LogLine[][] = [];
  const outcomes: { kind: DisruptionKind }[] = [];
  let summary: Record<string, unknown> | undefined;
  while (summary?.reason !== "completed") {
    if (attempts.length > 3 * schedule.length + 2) throw new Error(`${name}: ${attempts.length} attempts without completing; last: ${JSON.stringify(summary)}`);
    const next = pending[0];
    const trainer = await startTrainer({ config: training, checkpointDir: dir, attempt: attempts.length + 1, env, program: trainerCli });
    if (next) {
      // A trainer that completes first simply escapes the disruption (the waiter then rejects).
      trainer.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= next.atStep).then(
        () => {
          pending.shift();
          outcomes.push({ kind: next.kind });
          trainer.kill(next.kind === "hard" ? "SIGKILL" : "SIGTERM");
        },
        () => {},
      );
    }
    const result = await trainer.done;
    attempts.push(result.lines);
    summary = result.summary;
    if (result.signal !== "SIGKILL" && result.code !== 0 && result.code !== 143) {
      throw new Error(`${name}: attempt ${attempts.length} exited ${result.code}: ${result.stderr.slice(-800)}`);
    }
  }
  const wallSeconds = (Date.now() - started) / 1000;
  const records = attempts.map((lines) => recordsFromLines(lines));
  const lost = outcomes.map((_, i) =>
    lostStepsOf({ attempt: 1, resumedFromStep: records[i]!.resumedFromStep, reachedStep: records[i]!.reachedStep }, { attempt: 2, resumedFromStep: records[i + 1]!.resumedFromStep }) ?? 0,
  );
  let steps = 0;
  let seconds = 0;
  for (const lines of attempts) {
    const stepLines = lines.filter((l) => l.msg === "step" && typeof l.time === "number");
    if (stepLines.length < 2) continue;
    steps += stepLines.length - 1;
    seconds += ((stepLines.at(-1)!.time as number) - (stepLines[0]!.time as number)) / 1000;
  }
  const all = attempts.flat();
  const stalled = all.filter((l) => l.msg === "checkpoint snapshot taken").reduce((sum, l) => sum + Number(l.stallSeconds), 0);
  return {
    name,
    lostPerHardLoss: lost.filter((_, i) => outcomes[i]!.kind === "hard"),
    lostPerGraceful: lost.filter((_, i) => outcomes[i]!.kind === "graceful"),
    stepsPerSecond: steps / seconds,
    stallShare: stalled / seconds,
    wallSeconds,
    attempts: attempts.length,
    saves: all.filter((l) => l.msg === "checkpoint committed").length,
    saveSpans: attempts.flatMap(saveSpansOf),
    intervals: all
      .filter((l) => l.msg === "checkpoint interval chosen")
      .map((l) => ({ atSeconds: ((l.time as number) - started) / 1000, steps: Number(l.steps), bound: String(l.bound), overhead: Number(l.overhead), lostSteps: Number(l.lostSteps) })),
    weightsSha256: typeof summary.weightsSha256 === "string" ? summary.weightsSha256 : undefined,
  };
}

/** Steps each periodic save of one attempt spanned (SystemResult.saveSpans); a save killed before its commit has none. */
export function saveSpansOf(lines: LogLine[]): number[] {
  const spans: number[] = [];
  let stepNow = 0;
  const started = new Set<number>();
  for (const l of lines) {
    if (l.msg === "step") stepNow = Number(l.step);
    else if (l.msg === "checkpoint snapshot taken") started.add(Number(l.step));
    else if (l.msg === "checkpoint committed" && started.delete(Number(l.step))) spans.push(stepNow - Number(l.step));
  }
  return spans;
}
