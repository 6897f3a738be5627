import type { V1ObjectMeta } from "@kubernetes/client-node";
import { API_GROUP, KIND, RUN_LABEL } from "../api/group.js";

/**
 * The run a child belongs to: its resumable.dev/run label, else its controller
 * ownerReference to a TrainingRun. Undefined for anything else.
 */
export function runKeyOf(child: { metadata?: V1ObjectMeta }): string | undefined {
  const meta = child.metadata;
  const namespace = meta?.namespace;
  if (!namespace) return undefined;
  const label = meta.labels?.[RUN_LABEL];
  if (label) return `${namespace}/${label}`;
  const owner = meta.ownerReferences?.find(
    (ref) => ref.controller === true && ref.kind === KIND && ref.apiVersion.startsWith(`${API_GROUP}/`),
  );
  return owner ? `${namespace}/${owner.name}` : undefined;
}
