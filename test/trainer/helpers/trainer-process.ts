import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const cliSource = join(repoRoot, "trainer/src/cli.ts");

/** A tiny, fast, dropout-and-Adam config on the synthetic data: the cpu backend for bit-identity. */
export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "mlp",
    hiddenUnits: 32,
    dropout: 0.25,
    dataset: "synthetic",
    syntheticExamples: 200,
    totalSteps: 60,
    batchSize: 16,
    learningRate: 0.01,
    optimizer: "adam",
    seed: 1234,
    backend: "cpu",
    checkpoint: { everySteps: 5, everySeconds: 0, keep: 3 },
    ...overrides,
  };
}

/** Every test file runs in its own process: the dirs it made go when it exits, pass or fail. */
const madeDirs: string[] = [];
process.on("exit", () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempDir(prefix = "trainer-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export interface LogLine {
  msg?: string;
  level?: number;
  step?: number;
  [key: string]: unknown;
}

export interface TrainerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: LogLine[];
  /** The last stdout line parsed, when it is the summary. */
  summary: Record<string, unknown> | undefined;
  stderr: string;
}

/** A trainer process started from source with tsx, its stdout parsed as JSON lines as they come. */
export class TrainerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly done: Promise<TrainerResult>;
  private watchers: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  /** `program`: the reference trainer from source, unless another trainer of the protocol is named (the PyTorch example). */
  constructor(args: string[], env: Record<string, string>, program: string[] = [process.execPath, "--import", "tsx", cliSource]) {
    this.child = spawn(program[0]!, [...program.slice(1), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, RESUMABLE_METRICS_PORT: "0", LOG_LEVEL: "trace", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    this.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const stdoutClosed = new Promise<void>((res) => {
      createInterface({ input: this.child.stdout! })
        .on("line", (text) => this.onLine(text))
        .on("close", res);
    });
    this.done = new Promise((res) => {
      this.child.on("exit", (code, signal) => {
        void stdoutClosed.then(() => {
          const last = this.lines.at(-1);
          res({ code, signal, lines: this.lines, summary: last && "reason" in last ? last : undefined, stderr });
        });
      });
    });
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    this.lines.push(line);
    this.watchers = this.watchers.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first line (past or future) matching; rejects if the process ends first. */
  waitFor(test: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((res) => this.watchers.push({ test, resolve: res })),
      this.done.then((r) => {
        throw new Error(`trainer exited (code ${r.code}, signal ${r.signal}) before the awaited line; last lines: ${JSON.stringify(r.lines.slice(-3))}; stderr: ${r.stderr.slice(-1000)}`);
      }),
    ]);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

export interface StartOptions {
  config: Record<string, unknown>;
  checkpointDir: string;
  attempt?: number;
  env?: Record<string, string>;
  args?: string[];
  /** Another program than the trainer from source (the built one, where tsx's start-up would skew a measurement). */
  program?: string[];
}

/** Writes the config next to the checkpoint dir and starts the trainer on it. */
export async function startTrainer(opts: StartOptions): Promise<TrainerProcess> {
  const configFile = join(dirname(opts.checkpointDir), `config-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(configFile, JSON.stringify(opts.config));
  return new TrainerProcess(["--config", configFile, ...(opts.args ?? [])], {
    RESUMABLE_CHECKPOINT_DIR: opts.checkpointDir,
    RESUMABLE_TERMINATION_LOG: join(dirname(opts.checkpointDir), "termination-log"),
    ...(opts.attempt !== undefined && { RESUMABLE_ATTEMPT: String(opts.attempt) }),
    ...opts.env,
  }, opts.program);
}

export async function runToEnd(opts: StartOptions): Promise<TrainerResult> {
  return (await startTrainer(opts)).done;
}

/** Small seeded generator for the tests' random interruption points (seed printed on failure). */
export function testRandom(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}
