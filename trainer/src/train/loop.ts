import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { CheckpointWriter } from "../checkpoint/writer.js";
import type { TrainingSession } from "./session.js";

/** When a periodic save is due: every N steps and/or N seconds since the last one started. */
export class SaveSchedule {
  private lastStep: number;
  private lastTime = performance.now();

  constructor(
    private readonly everySteps: number,
    private readonly everySeconds: number,
    startStep: number,
    /** No periodic save at or past this step: the final save follows. */
    private readonly endStep: number,
  ) {
    this.lastStep = startStep;
  }

  due(step: number): boolean {
    if (step >= this.endStep) return false;
    return (
      (this.everySteps > 0 && step - this.lastStep >= this.everySteps) ||
      (this.everySeconds > 0 && performance.now() - this.lastTime >= this.everySeconds * 1000)
    );
  }

  started(step: number): void {
    this.lastStep = step;
    this.lastTime = performance.now();
  }
}

/**
 * Steps until `untilStep`, a stop request or a fatal save error, starting a background save
 * whenever one is due and none is in flight (a due save waits for a later boundary).
 */
export async function trainLoop(
  session: TrainingSession,
  writer: CheckpointWriter,
  schedule: SaveSchedule | undefined,
  untilStep: number,
  hooks: { shouldStop: () => boolean; onStep: (loss: number) => void },
): Promise<void> {
  while (session.step < untilStep && !hooks.shouldStop() && !writer.fatal) {
    hooks.onStep(session.trainStep());
    if (schedule?.due(session.step) && !writer.busy) {
      writer.startAsync(await session.snapshot("periodic"));
      schedule.started(session.step);
    }
    // Lets signals, background writes and the metrics server run between steps.
    await yieldToEventLoop();
  }
}
