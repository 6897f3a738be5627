// The world of the capacity-fallback tests: labelled nodes, a run played pass by pass, and
// what to read from the pods a pass creates.
import assert from "node:assert/strict";
import type { V1Node, V1Pod, V1Taint } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { Decision } from "../../operator/src/model/types.js";
import { T0, aNode, aPod, actionKinds, afterWrite, disruption, pass } from "./reconcile-fixtures.js";

export const at = (s: number) => new Date(T0.getTime() + s * 1000);
export const createdPod = (d: Decision): V1Pod => {
  const action = d.actions.find((a) => a.kind === "createPod");
  assert.ok(action && action.kind === "createPod", `a pod was created: ${actionKinds(d).join(", ")}`);
  return action.pod;
};
export const nodeKeys = (pod: V1Pod) =>
  (pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).flatMap((t) => (t.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(",")}`.trim()));

/** Labelled as the clouds label them: spot-1 (attempt 1's node) a spot node, ondemand-a not. */
export const spotNode = (name: string, o: { cordoned?: boolean; labels?: Record<string, string>; taints?: V1Taint[] } = {}): V1Node => ({
  ...aNode(name),
  metadata: { name, labels: o.labels ?? { "cloud.google.com/gke-spot": "true" } },
  spec: { ...(o.cordoned ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
});
export const WORLD = { nodes: [spotNode("spot-1"), { ...aNode("ondemand-a"), metadata: { name: "ondemand-a", labels: { "cloud.google.com/gke-provisioning": "standard" } } }] };

/** Plays passes, each on the status the previous one wrote. */
export function play(run: TrainingRun, steps: { pods: V1Pod[]; now: Date; nodes?: V1Node[] }[]): { run: TrainingRun; decisions: Decision[] } {
  const decisions: Decision[] = [];
  for (const step of steps) {
    const d = pass(run, step.pods, step.now, { nodes: step.nodes ?? WORLD.nodes });
    decisions.push(d);
    run = afterWrite(run, d);
  }
  return { run, decisions };
}

export const reclaimed = (attempt: number) =>
  aPod(attempt, { phase: "Failed", node: "spot-1", exitCode: 143, summary: { reason: "preempted", step: 100, resumedFromStep: 0, checkpoint: { step: 100 } }, conditions: [disruption("TerminationByKubelet")] });

