// A TrainingRun driven through a disruption, for tests of the installed chart.
import { CustomObjectsApi, type CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { SMALL_TRAINING, trainingRun } from "../e2e/runs.js";
import { eventually } from "../support/cluster.js";

export const RUN_NAMESPACE = "default";

export interface PreemptionOptions {
  step: number;
  totalSteps?: number;
  /** Fields of spec.training over SMALL_TRAINING's (stepDelayMs, say), and env for the trainer. */
  training?: Record<string, unknown>;
  env?: { name: string; value: string }[];
  /** Disrupts the run's current pod; default: evict it through the Eviction API. */
  disrupt?: (pod: V1Pod) => Promise<void>;
  /** Awaited once the run is past `step`, before the disruption (e.g. until its attempt is scraped). */
  beforeDisruption?: (run: TrainingRun) => Promise<void>;
}

export interface RunDriver {
  /**
   * Creates a run, disrupts its pod once past `step` (by default an eviction: a preemption)
   * and waits until the run ends; rejects if it ends before it could be disrupted.
   */
  preemptedRun(name: string, options: PreemptionOptions): Promise<TrainingRun>;
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

  const evict = async (pod: V1Pod) => {
    const name = pod.metadata?.name ?? "";
    await core.createNamespacedPodEviction({
      name,
      namespace: RUN_NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: RUN_NAMESPACE } },
    });
  };

  return {
    async preemptedRun(name, { step, totalSteps = SMALL_TRAINING.totalSteps, training, env, disrupt = evict, beforeDisruption }) {
      const spec = { training: { ...SMALL_TRAINING, totalSteps, ...training }, ...(env && { env }) };
      await custom.createNamespacedCustomObject({ ...id, body: trainingRun(name, spec) });
      const running = await wait(name, `past step ${step}`, (r) => isDone(r) || (r.status?.phase === "Running" && (r.status.progress?.step ?? 0) >= step));
      if (isDone(running)) throw new Error(`${name} ended (${running.status?.phase}) before it could be preempted: ${JSON.stringify(running.status?.conditions)}`);
      await beforeDisruption?.(running);
      await disrupt(await core.readNamespacedPod({ name: `${name}-${running.status?.attempt}`, namespace: RUN_NAMESPACE }));
      // A lost node is given up only after the operator's stuck-pod timeout.
      return wait(name, "its end", isDone, 10 * 60_000);
    },
  };
}
