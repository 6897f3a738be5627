// What the goodput benchmark counts, and only from the trainers' own records (one log line per
// step at trace level, ms timestamps, the checkpoints each one started and committed) under
// the process kubelet's state dir: never from the operator or the Job controller.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { lostStepsOf } from "@resumable/protocol";
import { NAMESPACE } from "../e2e/harness.js";
import { readTrainerRecords } from "../e2e/trainer-records.js";
import type { Disruption } from "./_goodput-faults.js";
import type { System } from "./_goodput-systems.js";

export interface Attempt {
  pod: string;
  firstLineAt: number;
  lastLineAt: number;
  firstStepAt?: number;
  resumedFrom: number;
  reached: number;
  /** Steps of the checkpoints it began to save, and of those it committed, in order. */
  savesStarted: number[];
  savesCommitted: number[];
  summary?: Record<string, unknown>;
}

/** One disruption and what it cost, by the trainers' records. */
export interface DisruptionOutcome extends Disruption {
  /**
   * Steps the hit pod computed that the next one computed again; 0 when it had computed none;
   * undefined when no pod computed after it (the system was given up).
   */
  lostSteps?: number;
  /**
   * Steps the hit pod had computed past its newest committed checkpoint (or where it resumed):
   * what any resume from a checkpoint loses, unless a final one is flushed.
   */
  uncommittedSteps: number;
  /** A save had begun past the newest commit when the pod was hit: the loss may reach back one more interval. */
  saveInFlight: boolean;
  /** Seconds to the next pod's first training step. */
  recoverySeconds?: number;
}

export interface SystemResult {
  system: System;
  /** Its checkpoint interval in steps; 0 for the Job without checkpoints. */
  everySteps: number;
  completed: boolean;
  wallSeconds: number;
  stepsComputed: number;
  usefulSteps: number;
  lostSteps: number;
  goodput: number;
  preemptions: number;
  /** Seconds from each disruption to the next attempt's first training step. */
  recoverySeconds: number[];
  weightsSha256?: string;
  attempts: Attempt[];
  disruptions: DisruptionOutcome[];
}

/** Graceful kinds give the trainer SIGTERM and a grace period; a hard loss gives it nothing. */
export const isGraceful = (d: Disruption) => d.kind !== "hard-loss";

/** Did this attempt compute anything? A pod killed while still loading did not, nor said where it resumed. */
const computed = (a: Attempt) => a.firstStepAt !== undefined || a.summary !== undefined;

export function summarise(
  system: System, attempts: Attempt[], run: { started: number; ended: number; totalSteps: number; everySteps: number },
  disruptions: Disruption[],
): SystemResult {
  const last = attempts.at(-1);
  const completed = last?.summary?.reason === "completed";
  const stepsComputed = attempts.reduce((n, a) => n + Math.max(0, a.reached - a.resumedFrom), 0);
  const computing = attempts.filter(computed);
  // Useful: what the final state holds (totalSteps when completed; given up: what the last computing pod reached).
  const usefulSteps = completed ? run.totalSteps : (computing.at(-1)?.reached ?? 0);
  let lostSteps = 0;
  for (let i = 1; i < computing.length; i++) lostSteps += lostOf(computing[i - 1]!, computing[i]!);
  const outcomes = disruptions.map((d) => outcomeOf(d, attempts));
  const endAt = completed ? last!.lastLineAt : run.ended;
  return {
    system, everySteps: run.everySteps, completed,
    wallSeconds: (endAt - run.started) / 1000,
    stepsComputed, usefulSteps, lostSteps,
    goodput: stepsComputed === 0 ? 0 : usefulSteps / stepsComputed,
    preemptions: disruptions.length,
    recoverySeconds: outcomes.flatMap((o) => (o.recoverySeconds === undefined ? [] : [o.recoverySeconds])),
    ...(typeof last?.summary?.weightsSha256 === "string" && { weightsSha256: last.summary.weightsSha256 }),
    attempts,
    disruptions: outcomes,
  };
}

/** The one lost-steps rule (the operator's status.lostSteps uses it too), on two attempts' records. */
function lostOf(previous: Attempt, next: Attempt): number {
  return lostStepsOf({ attempt: 1, resumedFromStep: previous.resumedFrom, reachedStep: previous.reached }, { attempt: 2, resumedFromStep: next.resumedFrom }) ?? 0;
}

function outcomeOf(d: Disruption, attempts: Attempt[]): DisruptionOutcome {
  const hit = attempts.find((a) => a.pod === d.pod);
  const next = attempts.find((a) => computed(a) && a.pod !== d.pod && a.firstLineAt > (hit?.firstLineAt ?? d.at));
  const nextStep = attempts.find((a) => a.firstStepAt !== undefined && a.firstStepAt > d.at && a.pod !== d.pod);
  const newestCommit = Math.max(hit?.resumedFrom ?? 0, ...(hit?.savesCommitted ?? []));
  const outcome: DisruptionOutcome = {
    ...d,
    uncommittedSteps: hit ? hit.reached - newestCommit : 0,
    saveInFlight: (hit?.savesStarted ?? []).some((s) => s > newestCommit),
  };
  if (!hit || !computed(hit)) outcome.lostSteps = 0;
  else if (next) outcome.lostSteps = lostOf(hit, next);
  if (nextStep) outcome.recoverySeconds = (nextStep.firstStepAt! - d.at) / 1000;
  return outcome;
}

const stepsOf = (lines: Record<string, unknown>[], msg: string) =>
  lines.filter((l) => l.msg === msg && typeof l.step === "number").map((l) => l.step as number);

/** Every pod of `prefix` the kubelet ran, oldest first, from the trainers' own log lines. */
export function attemptsOf(stateDir: string, prefix: string): Attempt[] {
  const root = join(stateDir, "kubelet", "logs");
  if (!existsSync(root)) return [];
  const attempts: Attempt[] = [];
  for (const dir of readdirSync(root)) {
    const m = /^([^_]+)_(.+)_([0-9a-f-]+)$/.exec(dir);
    if (!m || m[1] !== NAMESPACE || !m[2]!.startsWith(`${prefix}-`)) continue;
    const containerDir = join(root, dir, "trainer");
    if (!existsSync(containerDir)) continue;
    const { lines, resumedFromStep, reachedStep, summary } = readTrainerRecords(containerDir);
    const timed = lines.filter((l) => typeof l.time === "number");
    if (timed.length === 0) continue;
    const firstStep = lines.find((l) => l.msg === "step" && typeof l.step === "number");
    attempts.push({
      pod: m[2]!,
      firstLineAt: timed[0]!.time as number,
      lastLineAt: timed.at(-1)!.time as number,
      ...(firstStep && { firstStepAt: firstStep.time as number }),
      resumedFrom: resumedFromStep,
      reached: reachedStep,
      savesStarted: stepsOf(lines, "checkpoint save started"),
      savesCommitted: stepsOf(lines, "checkpoint committed"),
      ...(summary && { summary }),
    });
  }
  return attempts.sort((a, b) => a.firstLineAt - b.firstLineAt);
}
