import type { CheckpointRequest } from "@resumable/protocol";
import { weightsSha256 } from "../checkpoint/snapshot.js";
import { captureWeights } from "../model/state.js";
import { gangLoop, gatherParts, shareFinal, type FinalOutcome } from "./gang.js";
import { saveSchedule } from "./loop.js";
import { stepReporter } from "./publish.js";
import type { Run } from "./run-types.js";

// A gang's run after the start (run.ts): the steps, with every save agreed on the all-reduce
// and written by rank 0 alone, and the final save that every rank waits for.

/**
 * Steps until done or until the gang agrees to stop. Rank 0 asks for a save when its schedule
 * is due and no save is in flight; any rank asks when it has a checkpoint request (a reclaim
 * notice on its node). Only the gather happens at the boundary: rank 0 writes in the background.
 */
export async function trainGang(run: Run): Promise<void> {
  const { config, stop, requests } = run.opts;
  const gang = run.gang!;
  const session = run.training;
  const storage = run.storage; // rank 0's
  const schedule = saveSchedule(run);
  const reportStep = stepReporter(run);
  // What a step and a save's stall cost, for everySteps: auto and the flush estimate: a gang's
  // step includes its all-reduce, a save's stall the snapshot and the gather.
  let stepStart = performance.now();
  // A save the gang agreed on while rank 0's previous one was still in flight: rank 0 asks again.
  let owed: { request: CheckpointRequest | undefined } | undefined;
  await gangLoop(session, gang, run.totalSteps, {
    stepDelayMs: config.stepDelayMs,
    want: (nextStep) => {
      const requested = requests?.pending !== undefined;
      if (!storage) return { stop: stop.requested, checkpoint: requested };
      const { writer } = storage;
      // A fatal save error (fenced) stops the whole gang, not rank 0 alone.
      return { stop: stop.requested || writer.fatal !== undefined, checkpoint: !writer.busy && (requested || owed !== undefined || schedule.due(nextStep)) };
    },
    onStep: (loss) => {
      const now = performance.now();
      run.costs.observeStep((now - stepStart) / 1000);
      stepStart = now;
      reportStep(loss);
    },
    save: async (step) => {
      const stallStart = performance.now();
      const own = requests?.take();
      if (!storage) {
        await gatherParts(gang, step, captureWeights(session.model, false), own);
        return;
      }
      const { writer } = storage;
      const snapshot = writer.busy ? undefined : await session.snapshot("periodic");
      const gathered = (await gatherParts(gang, step, snapshot?.weights ?? captureWeights(session.model, false), own))!;
      const request = own ?? gathered.requests[0] ?? owed?.request;
      if (!snapshot) {
        owed = { request };
        return;
      }
      owed = undefined;
      writer.startAsync({ ...snapshot, gang: gathered.record });
      run.costs.observeStall((performance.now() - stallStart) / 1000);
      stepStart = performance.now();
      schedule.started(step);
      if (request) run.requestedSave = { request, step };
    },
  });
}

/**
 * The final save: every rank's part to rank 0, rank 0 commits (unless its last commit is of
 * this step) and tells every rank how that ended. A rank > 0 ends once rank 0 says the final
 * checkpoint committed, with its step; if rank 0 could not commit, every rank fails.
 */
export async function endGang(run: Run): Promise<void> {
  const { log, stop } = run.opts;
  const gang = run.gang!;
  const session = run.training;
  const storage = run.storage;
  if (stop.requested) log.info({ signal: stop.signal, step: session.step }, "stop requested: the gang stops at this step");
  const snapshot = storage ? await session.snapshot("final") : undefined;
  const weights = snapshot?.weights ?? captureWeights(session.model, false);
  const gathered = await gatherParts(gang, session.step, weights, undefined);
  let outcome: FinalOutcome | undefined;
  if (storage) {
    try {
      await storage.writer.drain();
      if (storage.writer.fatal) throw storage.writer.fatal;
      if (run.lastCommitted?.step !== session.step) await storage.writer.saveNow({ ...snapshot!, gang: gathered!.record });
      const { step, path, bytes, saveSeconds, kind, time } = run.lastCommitted!;
      outcome = { committed: { step, path, bytes, saveSeconds, kind, time: time.toISOString() } };
    } catch (err) {
      await shareFinal(gang, { error: `${(err as Error).name}: ${(err as Error).message}` });
      throw err;
    }
  }
  outcome = await shareFinal(gang, outcome);
  if ("error" in outcome) throw new Error(`rank 0 did not commit the final checkpoint: ${outcome.error}`);
  if (!storage) {
    run.lastCommitted = { ...outcome.committed, time: new Date(outcome.committed.time) };
    log.info({ checkpoint: outcome.committed.path, step: outcome.committed.step }, "rank 0 committed the gang's final checkpoint");
  }
  run.state.weightsSha256 = weightsSha256(weights);
}
