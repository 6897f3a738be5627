import type { V1ObjectMeta } from "@kubernetes/client-node";
import { objectKey } from "@resumable/kube-runtime";
import { API_GROUP, KIND, RUN_LABEL } from "../api/group.js";

/**
 * The run a child belongs to: its resumable.dev/run label, else its controller
 * ownerReference to a TrainingRun, as the runtime's objectKey. Undefined for anything else.
 */
export function runKeyOf(child: { metadata?: V1ObjectMeta }): string | undefined {
  const meta = child.metadata;
  const namespace = meta?.namespace;
  if (!namespace) return undefined;
  const label = meta.labels?.[RUN_LABEL];
  if (label) return objectKey({ metadata: { namespace, name: label } });
  const owner = meta.ownerReferences?.find(
    (ref) => ref.controller === true && ref.kind === KIND && ref.apiVersion.startsWith(`${API_GROUP}/`),
  );
  return owner ? objectKey({ metadata: { namespace, name: owner.name } }) : undefined;
}
