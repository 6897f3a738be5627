import { ENV } from "@resumable/protocol";

/**
 * SIGTERM and SIGINT ask training to stop at the next step boundary; nothing is interrupted
 * mid-step or mid-write. Installed first thing at start-up (before tfjs loads), so a signal
 * that arrives during start-up still ends in a final checkpoint and exit code 143.
 */
export class StopRequest {
  signal: NodeJS.Signals | undefined;
  private readonly listeners: ((signal: NodeJS.Signals) => void)[] = [];

  get requested(): boolean {
    return this.signal !== undefined;
  }

  /** Called once, on the first signal. */
  onStop(listener: (signal: NodeJS.Signals) => void): void {
    this.listeners.push(listener);
  }

  request(signal: NodeJS.Signals): void {
    if (this.signal !== undefined) return; // repeated signals: the stop is already under way
    this.signal = signal;
    for (const l of this.listeners) l(signal);
  }
}

/**
 * With RESUMABLE_SIGTERM=die (the benchmarks' baseline of a script that does not handle
 * SIGTERM) no SIGTERM handler is installed: the process dies at once, 143, no final checkpoint.
 * An unknown value installs the handler; readEnv then refuses it as a config error.
 */
export function installStopHandlers(env: NodeJS.ProcessEnv = process.env): StopRequest {
  const stop = new StopRequest();
  const signals = env[ENV.sigterm] === "die" ? (["SIGINT"] as const) : (["SIGTERM", "SIGINT"] as const);
  for (const signal of signals) process.on(signal, () => stop.request(signal));
  return stop;
}
