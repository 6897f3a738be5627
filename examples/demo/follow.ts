// Follows a run on one updating terminal line, printing a line of its own
// for each preemption and resume, and disrupting the run once, mid-way.
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL } from "../../operator/src/api/group.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";

export interface FollowOptions {
  custom: CustomObjectsApi;
  namespace: string;
  name: string;
  /** Called once when the run passes `disruptAt` of its steps. */
  disrupt: (run: TrainingRun) => Promise<string>;
  disruptAt: number;
  timeoutMs: number;
}

export async function follow(o: FollowOptions): Promise<TrainingRun> {
  const deadline = Date.now() + o.timeoutMs;
  let disrupted = false;
  let seenAttempt = 0;
  let seenPreemptions = 0;
  const interactive = process.stdout.isTTY;
  let lastLine = "";
  for (;;) {
    const run = (await o.custom.getNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, plural: PLURAL, namespace: o.namespace, name: o.name,
    })) as TrainingRun;
    const s = run.status ?? {};
    const say = (text: string) => process.stdout.write(`${interactive ? "\r\x1b[2K" : ""}${text}\n`);
    if ((s.preemptions ?? 0) > seenPreemptions) {
      seenPreemptions = s.preemptions ?? 0;
      const ended = s.attempts?.find((a) => a.endReason === "Preempted" && a.attempt === seenAttempt);
      say(`⚡ attempt ${seenAttempt} preempted (${ended?.endDetail ?? "disruption"}) at step ${ended?.reachedStep ?? "?"} on ${ended?.node ?? "?"}`);
    }
    if ((s.attempt ?? 0) > seenAttempt) {
      if (seenAttempt > 0) {
        const next = s.attempts?.find((a) => a.attempt === s.attempt);
        say(`↻ attempt ${s.attempt} started on ${next?.node ?? "?"}${next?.resumedFromStep !== undefined ? `, resuming from step ${next.resumedFromStep}` : ""}`);
      }
      seenAttempt = s.attempt ?? 0;
    }
    const line = progressLine(run);
    if (interactive) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line !== lastLine) console.log(line);
    lastLine = line;
    if (s.phase === "Succeeded" || s.phase === "Failed") {
      if (interactive) process.stdout.write("\n");
      return run;
    }
    const p = s.progress;
    if (!disrupted && p?.totalSteps && p.step >= o.disruptAt * p.totalSteps && s.phase === "Running") {
      disrupted = true;
      say(await o.disrupt(run));
    }
    if (Date.now() > deadline) throw new Error(`${o.namespace}/${o.name} did not finish within ${o.timeoutMs / 1000}s (phase ${s.phase})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function progressLine(run: TrainingRun): string {
  const s = run.status ?? {};
  const p = s.progress;
  const step = p ? `${p.step}/${p.totalSteps ?? "?"}` : "-";
  const loss = p?.loss !== undefined ? p.loss.toFixed(4) : "-";
  const ckpt = s.lastCheckpoint ? `${s.lastCheckpoint.step} (${s.lastCheckpoint.reason ?? "?"})` : "-";
  return `${s.phase ?? "Pending"}  step ${step}  loss ${loss}  attempt ${s.attempt ?? 0}  checkpoint ${ckpt}`;
}
