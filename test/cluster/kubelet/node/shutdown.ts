// Graceful node shutdown, as the kubelet's nodeshutdown manager runs it when
// the VM is told to power off (a spot reclaim): the node reports NotReady,
// every pod is terminated with the smaller of its own grace period and the
// node's shutdown budget and ends Failed with reason Terminated and a
// DisruptionTarget condition; when the budget is spent the VM dies, taking
// what is left, and the cloud deletes the Node.
import { systemClock } from "@resumable/kube-runtime";
import { isNotFound, type ApiClient } from "../api/client.js";
import type { Logger } from "../log.js";
import type { AbnormalTermination } from "../pod/status.js";
import type { PodWorker } from "../pod/worker.js";

const NODE_SHUTDOWN_REASON = "Terminated";
const NODE_SHUTDOWN_MESSAGE = "Pod was terminated in response to imminent node shutdown.";
/** How long the final pod statuses may take to reach the apiserver once the budget is spent. */
const FINAL_STATUS_MS = 5_000;

export const nodeShutdownTermination = (now: string): AbnormalTermination => ({
  reason: NODE_SHUTDOWN_REASON,
  message: NODE_SHUTDOWN_MESSAGE,
  conditions: [
    {
      type: "DisruptionTarget",
      status: "True",
      reason: "TerminationByKubelet",
      message: NODE_SHUTDOWN_MESSAGE,
      lastTransitionTime: now,
    },
  ],
});

export interface ShutdownInput {
  api: ApiClient;
  nodeName: string;
  graceSeconds: number;
  workers: PodWorker[];
  syncNodeStatus(): Promise<void>;
  log: Logger;
}

export async function gracefulShutdown(input: ShutdownInput): Promise<void> {
  const { api, nodeName, graceSeconds, workers, log } = input;
  await input.syncNodeStatus().catch((err) => log.warn({ err: String(err) }, "could not report the node NotReady"));
  const termination = nodeShutdownTermination(new Date().toISOString());
  const all = Promise.all(workers.map((w) => w.shutdown(graceSeconds, termination)));
  const budget = new AbortController();
  await Promise.race([all, systemClock.sleep(graceSeconds * 1000, budget.signal)]);
  budget.abort();
  // The budget is spent: the VM powers off and whatever still runs dies with it.
  for (const w of workers) w.killAll();
  await Promise.race([all, systemClock.sleep(FINAL_STATUS_MS)]);
  log.warn("node shut down; the cloud deletes the Node");
  try {
    await api.delete(`/api/v1/nodes/${nodeName}`);
  } catch (err) {
    if (!isNotFound(err)) log.error({ err: String(err) }, "could not delete the Node");
  }
}
