// A TrainingRun driven through a preemption, for tests of the installed chart.
import { CustomObjectsApi, type CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { SMALL_TRAINING, trainingRun } from "../e2e/runs.js";
import { eventually } from "../support/cluster.js";

export const RUN_NAMESPACE = "default";

export interface RunDriver {
  get(name: string): Promise<TrainingRun>;
  wait(name: string, what: string, check: (run: TrainingRun) => boolean, timeoutMs?: number): Promise<TrainingRun>;
  /**
   * Creates a run of `totalSteps`, evicts its pod once past `step` (a preemption) and waits
   * until it ends; rejects if it ends before it could be preempted.
   */
  preemptedRun(name: string, step: number, totalSteps?: number): Promise<TrainingRun>;
}

const isDone = (run: TrainingRun) => run.status?.phase === "Succeeded" || run.status?.phase === "Failed";

export function runDriver(kc: KubeConfig, core: CoreV1Api): RunDriver {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const id = { group: "resumable.dev", version: "v1alpha1", namespace: RUN_NAMESPACE, plural: "trainingruns" };
  const get = async (name: string) => (await custom.getNamespacedCustomObject({ ...id, name })) as TrainingRun;
  const wait = (name: string, what: string, check: (run: TrainingRun) => boolean, timeoutMs = 5 * 60_000) =>
    eventually(`${name}: ${what}`, async () => {
      const run = await get(name);
      return check(run) ? run : undefined;
    }, timeoutMs);

  return {
    get,
    wait,
    async preemptedRun(name, step, totalSteps = SMALL_TRAINING.totalSteps) {
      await custom.createNamespacedCustomObject({ ...id, body: trainingRun(name, { training: { ...SMALL_TRAINING, totalSteps } }) });
      const running = await wait(name, `past step ${step}`, (r) => isDone(r) || (r.status?.phase === "Running" && (r.status.progress?.step ?? 0) >= step));
      if (isDone(running)) throw new Error(`${name} ended (${running.status?.phase}) before it could be preempted`);
      const pod = `${name}-${running.status?.attempt}`;
      await core.createNamespacedPodEviction({
        name: pod,
        namespace: RUN_NAMESPACE,
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: RUN_NAMESPACE } },
      });
      return wait(name, "its end", isDone);
    },
  };
}
