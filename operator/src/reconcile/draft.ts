// The decision one pass builds: every writer of the pass works on a Draft.
import type { TrainingRunStatus } from "../api/status.js";
import { findCondition, setCondition, type ConditionUpdate } from "../model/conditions.js";
import type { OperatorSettings } from "../model/settings.js";
import type { Action, Decision, EventSpec, Observed } from "../model/types.js";

/** The decision one pass is building: a private copy of the status plus what to do and say. */
export class Draft {
  readonly status: TrainingRunStatus;
  readonly actions: Action[] = [];
  private readonly events: EventSpec[] = [];
  private requeueAfterMs: number | undefined;

  constructor(
    readonly observed: Observed,
    readonly settings: OperatorSettings,
  ) {
    this.status = structuredClone(observed.run.status ?? {});
  }

  get now(): Date {
    return this.observed.now;
  }

  event(type: EventSpec["type"], reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  /** Run again within `ms` even if nothing changes; the earliest request wins. */
  requeueIn(ms: number): void {
    const bounded = Math.max(0, Math.ceil(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? bounded : Math.min(this.requeueAfterMs, bounded);
  }

  /** Sets a condition; true when its status flipped (the moment to emit an event). */
  condition(update: ConditionUpdate): boolean {
    const before = findCondition(this.status.conditions, update.type)?.status;
    this.status.conditions = setCondition(
      this.status.conditions,
      update,
      this.now,
      this.observed.run.metadata.generation,
    );
    return before !== update.status;
  }

  decision(): Decision {
    return {
      actions: this.actions,
      status: this.status,
      events: this.events,
      ...(this.requeueAfterMs === undefined ? {} : { requeueAfterMs: this.requeueAfterMs }),
    };
  }
}
