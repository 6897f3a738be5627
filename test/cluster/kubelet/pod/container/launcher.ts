// Starts one container instance as a host process: its own process group
// (so signals reach everything it forks), its own mount namespace (so its
// volumes appear at their mount paths), stdout and stderr appended to its
// log file, its pid recorded for clean-up.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { constants } from "node:os";
import type { Readable } from "node:stream";
import type { PidFiles } from "./pid-files.js";
import { wrapperScript, type BindMount } from "./wrapper-script.js";

export interface LaunchSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  mounts: BindMount[];
  logFile: string;
}

export type StartResult = { ok: true } | { ok: false; message: string };

export interface Launched {
  pid: number;
  /** Whether the command was exec'd, or why not. */
  started: Promise<StartResult>;
  /** The exit code; a death by signal N is 128+N, as a container runtime reports it. */
  exited: Promise<number>;
  /** Signals the whole process group; a no-op once it is gone. */
  signal(sig: NodeJS.Signals): void;
}

export function launch(spec: LaunchSpec, pids: PidFiles): Launched {
  const log = openSync(spec.logFile, "a");
  const child = spawn(
    "unshare",
    ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", wrapperScript(spec.mounts, spec.cwd), "sh", ...spec.argv],
    { cwd: "/", env: spec.env, detached: true, stdio: ["ignore", log, log, "pipe"] },
  );
  closeSync(log);
  // A spawn failure is reported through pid === undefined below; without a listener it would throw.
  child.on("error", () => {});
  const pid = child.pid;
  if (pid === undefined) {
    const message = "failed to start the container process";
    return { pid: 0, started: Promise.resolve({ ok: false, message }), exited: Promise.resolve(128), signal: () => {} };
  }
  pids.add(pid);
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };

  const started = new Promise<StartResult>((resolve) => {
    let report = "";
    const fd3 = child.stdio[3] as Readable | null;
    if (!fd3) return resolve({ ok: false, message: "no start report from the container" });
    fd3.setEncoding("utf8");
    fd3.on("data", (chunk: string) => (report += chunk));
    fd3.on("close", () => {
      if (report.startsWith("S")) resolve({ ok: true });
      else if (report.startsWith("E")) resolve({ ok: false, message: report.slice(1).trim() });
      else resolve({ ok: false, message: "the container init exited before starting the command" });
    });
  });

  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, sig) => {
      // Like a PID namespace: when the container's main process dies, so does everything it left.
      signal("SIGKILL");
      pids.remove(pid);
      resolve(code ?? 128 + (sig ? constants.signals[sig] : 9));
    });
  });

  return { pid, started, exited, signal };
}
