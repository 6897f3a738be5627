import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { TrainingRunSpecInput } from "./spec.js";
import type { TrainingRunStatus } from "./status.js";

/**
 * A TrainingRun as read from the apiserver. The spec is typed as written, not as parsed:
 * the operator validates it on every pass (trainingRunSpecSchema) instead of trusting it.
 */
export interface TrainingRun {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: TrainingRunSpecInput;
  status?: TrainingRunStatus;
}
