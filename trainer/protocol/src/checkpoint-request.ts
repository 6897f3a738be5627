import { z } from "zod";
import { parseProjected } from "./projected.js";

/**
 * The operator's request for a checkpoint now (a reclaim notice on the trainer's node): set
 * as an annotation on the trainer's pod, which a downwardAPI volume projects into a file the
 * trainer watches (docs/trainer-protocol.md, "Checkpoint requests"). The trainer needs no RBAC
 * for it and the operator no network path to the pod.
 */
export const CHECKPOINT_REQUEST_ANNOTATION = "resumable.dev/checkpoint-request";

/** Where the operator mounts the downwardAPI volume, and the file in it. */
export const CHECKPOINT_REQUEST_DIR = "/etc/resumable/requests";
export const CHECKPOINT_REQUEST_FILE = `${CHECKPOINT_REQUEST_DIR}/checkpoint-request`;

/** The annotation's JSON value. A trainer saves once per `id`. */
export const checkpointRequestSchema = z.object({
  /** Unique per notice: the operator uses `<source>@<node>` (`checkpointRequestFor`), so another pass or
   * operator asks nothing new, while another signal on the node is a new request. */
  id: z.string().min(1).max(128),
  /** Why, in words a person reads in the trainer's log (e.g. `aws-spot-itn on spot-a`). */
  reason: z.string().max(256),
  /** ISO time the notice was seen. */
  at: z.string(),
});
export type CheckpointRequest = z.infer<typeof checkpointRequestSchema>;

/**
 * The request a projected file holds: `none` for an empty file (no annotation: the kubelet
 * writes an empty string), `invalid` with the reason for anything else that is not a request.
 */
export function parseCheckpointRequest(
  text: string,
): { kind: "none" } | { kind: "request"; request: CheckpointRequest } | { kind: "invalid"; reason: string } {
  const parsed = parseProjected(text, checkpointRequestSchema);
  return parsed.kind === "value" ? { kind: "request", request: parsed.value } : parsed;
}

/** The early checkpoint a request led to, as the trainer reports it in progress. */
export const earlyCheckpointSchema = z.object({
  /** The request's id. */
  requestId: z.string(),
  /** The step saved. */
  step: z.int().nonnegative(),
  /** ISO time it committed. */
  time: z.string(),
});
export type EarlyCheckpoint = z.infer<typeof earlyCheckpointSchema>;
