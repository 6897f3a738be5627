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

export function installStopHandlers(): StopRequest {
  const stop = new StopRequest();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => stop.request(signal));
  return stop;
}
