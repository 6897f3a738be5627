// The run's phase, its completion time and the Running condition that explains the phase:
// the one writer of the three, called by whichever step of the pass settles them.
import type { Phase } from "../api/status.js";
import { toTimestamp } from "../model/time.js";
import type { Draft } from "./draft.js";

export function isFinished(phase: Phase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** The phase while attempt `attempt` is awaited: Pending for the first, Restarting for any later. */
export function waitingPhase(attempt: number): Phase {
  return attempt > 1 ? "Restarting" : "Pending";
}

export function setPhase(d: Draft, phase: Phase, reason: string, message: string): void {
  d.status.phase = phase;
  d.condition({ type: "Running", status: phase === "Running" ? "True" : "False", reason, message });
}

/** A run whose spec keeps it from any pod stays Pending until it gets one. */
export function pendingUntilValid(d: Draft): void {
  d.status.phase ??= "Pending";
}

/** The run has ended: its phase and completion time; the reason is on the Complete or Failed condition. */
export function endRun(d: Draft, phase: "Succeeded" | "Failed"): void {
  d.status.phase = phase;
  d.status.completionTime = toTimestamp(d.now);
}

/** A finished run is not running, for the reason its phase names. */
export function sayFinished(d: Draft): void {
  const phase = d.status.phase ?? "";
  d.condition({ type: "Running", status: "False", reason: phase, message: `the run has ${phase.toLowerCase()}` });
}
