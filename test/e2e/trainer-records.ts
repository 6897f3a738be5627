// What each attempt's trainer itself wrote, read from the pod logs the process
// kubelet keeps under its state directory: where it resumed, every step it
// computed, how it exited. The scenarios compare the operator's accounting
// with these records instead of trusting the operator's own formula (a restart
// from step 0 is bit-identical too, so weights alone never prove a resume).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { E2E } from "./harness.js";
import { NAMESPACE } from "./harness.js";

export interface TrainerAttempt {
  attempt: number;
  /** The pod instance (uid) whose logs these are. */
  uid: string;
  /** The step the attempt's first computed step started from: 0 for a fresh start. */
  resumedFromStep: number;
  /** The highest step the attempt computed (its own step log lines and summary). */
  reachedStep: number;
  /** The summary line printed at exit; undefined when the process was killed. */
  summary?: { reason: string; step: number | null; resumedFromStep: number | null; [k: string]: unknown };
  /** Every log line, parsed, for scenario-specific checks. */
  lines: Record<string, unknown>[];
}

/** Every attempt of `run` the kubelet saw, oldest first; several pods of one attempt never happen. */
export function trainerAttempts(e: Pick<E2E, "cluster">, run: string): TrainerAttempt[] {
  const attempts: TrainerAttempt[] = [];
  for (const root of logRoots(e)) {
    for (const dir of readdirSync(root)) {
      const m = /^(.+)_(.+)-(\d+)_([0-9a-f-]+)$/.exec(dir);
      if (!m || m[1] !== NAMESPACE || m[2] !== run) continue;
      attempts.push({ attempt: Number(m[3]), uid: m[4]!, ...readTrainerRecords(join(root, dir, "trainer")) });
    }
  }
  return attempts.sort((a, b) => a.attempt - b.attempt);
}

/** One rank of a gang's attempt: a trainer's records, from the pod `<run>-<attempt>-<rank>`. */
export interface RankRecords extends TrainerAttempt {
  rank: number;
}

/**
 * Every rank of every attempt of the gang `run` the kubelet saw, by attempt (oldest first),
 * ranks in order within each.
 */
export function gangAttempts(e: Pick<E2E, "cluster">, run: string): RankRecords[][] {
  const byAttempt = new Map<number, RankRecords[]>();
  for (const root of logRoots(e)) {
    for (const dir of readdirSync(root)) {
      const m = /^(.+)_(.+)-(\d+)-(\d+)_([0-9a-f-]+)$/.exec(dir);
      if (!m || m[1] !== NAMESPACE || m[2] !== run) continue;
      const attempt = Number(m[3]);
      const ranks = byAttempt.get(attempt) ?? [];
      ranks.push({ attempt, rank: Number(m[4]), uid: m[5]!, ...readTrainerRecords(join(root, dir, "trainer")) });
      byAttempt.set(attempt, ranks);
    }
  }
  return [...byAttempt.keys()].sort((a, b) => a - b).map((a) => byAttempt.get(a)!.sort((x, y) => x.rank - y.rank));
}

/**
 * The process kubelet's logs, and the real node's as its log keeper holds them after the
 * kubelet removed a deleted pod's (test/realnode/up.sh; CRI format, the same layout).
 */
function logRoots(e: Pick<E2E, "cluster">): string[] {
  return [join(e.cluster.stateDir, "kubelet", "logs"), join(e.cluster.stateDir, "realnode", "kept-logs")].filter((r) => existsSync(r));
}

/**
 * Steps an attempt computed that the next one computed again: the trainer's records, not
 * the operator's. The same definition as status.lostSteps (reached minus resumed-from).
 */
export function lostStepsFromRecords(attempts: TrainerAttempt[]): number {
  let lost = 0;
  for (let i = 1; i < attempts.length; i++) {
    lost += Math.max(0, attempts[i - 1]!.reachedStep - attempts[i]!.resumedFromStep);
  }
  return lost;
}

/**
 * One trainer container's records, from its log directory (`<pod dir>/trainer`): every line
 * parsed, where it resumed, the highest step it computed, its summary. The one parser of the
 * trainer's records: the e2e scenarios and the goodput benchmark both read through it.
 */
export function readTrainerRecords(containerDir: string): Pick<TrainerAttempt, "resumedFromStep" | "reachedStep" | "summary" | "lines"> {
  const lines = readLines(containerDir);
  return { ...recordsFromLines(lines), lines };
}

function readLines(containerDir: string): Record<string, unknown>[] {
  if (!existsSync(containerDir)) return [];
  const files = readdirSync(containerDir).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b));
  return files.flatMap((f) =>
    criToRaw(readFileSync(join(containerDir, f), "utf8").split("\n"))
      .flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return parsed !== null && typeof parsed === "object" ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
  );
}

/** `<time> <stream> <P|F> <text>`: the CRI log format a real kubelet's runtime writes. */
const CRI_LINE = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/;

/** A CRI log's lines as the container wrote them (partial lines joined); raw lines pass through. */
function criToRaw(lines: string[]): string[] {
  const out: string[] = [];
  let partial = "";
  for (const line of lines) {
    const m = CRI_LINE.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    partial += m[2];
    if (m[1] === "F") {
      out.push(partial);
      partial = "";
    }
  }
  return out;
}

/**
 * The trainer logs each step at trace level right after computing it (`{"step": n, "msg":
 * "step"}`, n counted after the step), so the first such line of an attempt is one past where
 * it started. The e2e runs set LOG_LEVEL=trace for this (runs.ts); a trainer run as a host
 * process hands its parsed stdout here directly.
 */
export function recordsFromLines(lines: Record<string, unknown>[]): Pick<TrainerAttempt, "resumedFromStep" | "reachedStep" | "summary"> {
  const steps = lines.filter((l) => l.msg === "step" && typeof l.step === "number").map((l) => l.step as number);
  const summary = lines.filter((l) => typeof l.reason === "string" && "resumedFromStep" in l && l.msg === undefined).at(-1) as TrainerAttempt["summary"];
  const first = steps[0];
  const resumedFromStep = first !== undefined ? first - 1 : (summary?.resumedFromStep ?? summary?.step ?? 0);
  const reachedStep = Math.max(resumedFromStep, ...steps, summary?.step ?? 0);
  return { resumedFromStep, reachedStep, ...(summary ? { summary } : {}) };
}
