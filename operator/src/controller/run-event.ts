import { randomBytes } from "node:crypto";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { TrainingRun } from "../api/trainingrun.js";
import type { EventSpec } from "../model/types.js";

export const COMPONENT = "resumable-operator";

/** A core/v1 Event about a run: `kubectl describe tr` and `kubectl get events` show it. */
export function runEvent(run: TrainingRun, spec: EventSpec, now: Date, instance: string): CoreV1Event {
  const name = run.metadata.name ?? "";
  const namespace = run.metadata.namespace ?? "";
  return {
    metadata: { name: `${name}.${now.getTime().toString(16)}${randomBytes(4).toString("hex")}`, namespace },
    involvedObject: {
      apiVersion: run.apiVersion,
      kind: run.kind,
      name,
      namespace,
      uid: run.metadata.uid,
      resourceVersion: run.metadata.resourceVersion,
    },
    type: spec.type,
    reason: spec.reason,
    message: spec.message,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: COMPONENT },
    reportingComponent: COMPONENT,
    reportingInstance: instance,
  };
}
