import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { disruptionOf, exitReason, type ParsedExitSummary } from "@resumable/protocol";
import type { EndReason } from "../api/status.js";
import { toDate } from "./time.js";
import { readSummary, trainerMessage, trainerStatus } from "./trainer-reports.js";

/** How an attempt ended, decided from one pod. */
export interface Outcome {
  reason: Exclude<EndReason, "Suspended">;
  /** The signal it was decided from: a DisruptionTarget reason, OOMKilled, ExitCode, … */
  detail: string;
  exitCode?: number;
  summary?: ParsedExitSummary;
  /** The trainer's own words about a failure (its summary's failure.message or error). */
  message?: string;
  /** A failure a retry cannot fix: a rejected config (exit 2), unusable checkpoints (exit 5). */
  permanent?: boolean;
}

export type PodAssessment =
  | { ended: Outcome }
  | { ended?: undefined; running: boolean; node: NodeHealth };

export type NodeHealth = { lost: false } | { lost: true; since?: Date };

/** Waiting reasons after which the trainer will not start without a change somewhere. */
const CANNOT_START_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "InvalidImageName",
  "ImagePullBackOff",
  "ErrImageNeverPull",
]);

/** The detail of a failure the trainer named by its exit code (docs/trainer-protocol.md). */
const EXIT_FAILURES: Partial<Record<NonNullable<ReturnType<typeof exitReason>>, { detail: string; permanent?: true }>> = {
  config: { detail: "InvalidConfig", permanent: true },
  fenced: { detail: "Fenced" },
  storage: { detail: "StorageError" },
  checkpointsUnusable: { detail: "CheckpointsUnusable", permanent: true },
  diverged: { detail: "Diverged" },
};

export function assessPod(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>): PodAssessment {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { ended: terminalOutcome(pod) };
  const waiting = trainerStatus(pod)?.state?.waiting?.reason;
  if (waiting !== undefined && CANNOT_START_REASONS.has(waiting)) {
    return { ended: { reason: "Failed", detail: waiting } };
  }
  return { running: phase === "Running", node: nodeHealth(pod, nodes) };
}

function terminalOutcome(pod: V1Pod): Outcome {
  const terminated = trainerStatus(pod)?.state?.terminated;
  const exitCode = terminated?.exitCode;
  const summary = readSummary(terminated?.message);
  const ended = (reason: Outcome["reason"], detail: string, extra: Partial<Outcome> = {}): Outcome => ({
    reason,
    detail,
    ...(exitCode === undefined ? {} : { exitCode }),
    ...(summary === undefined ? {} : { summary }),
    ...extra,
  });

  const disruption = disruptionOf(pod, { code: exitCode, summary });
  if (disruption !== undefined) return ended("Preempted", disruption.signal);
  if (exitCode === 0 && summary?.reason !== "failed") return ended("Succeeded", "Completed");
  const message = trainerMessage(summary, terminated?.message);
  const failed = (detail: string, permanent?: boolean) =>
    ended("Failed", detail, { ...(message === undefined ? {} : { message }), ...(permanent ? { permanent } : {}) });
  if (terminated?.reason === "OOMKilled") return failed("OOMKilled");
  const named = EXIT_FAILURES[exitReason(exitCode) ?? "failed"];
  if (named !== undefined) return failed(named.detail, named.permanent);
  if (exitCode !== undefined) return failed("ExitCode");
  // Failed without the trainer ever running, e.g. rejected at kubelet admission.
  return ended("Failed", pod.status?.reason ?? "PodFailed");
}

function nodeHealth(pod: V1Pod, nodes: ReadonlyMap<string, V1Node>): NodeHealth {
  const nodeName = pod.spec?.nodeName;
  // No nodes at all means a node cache that is empty or broken (the operator itself runs on
  // a node), not a cluster without nodes: giving up every pod on that evidence would be worse.
  if (nodeName === undefined || nodes.size === 0) return { lost: false };
  const node = nodes.get(nodeName);
  if (node === undefined) return { lost: true };
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "True") return { lost: false };
  const since = toDate(ready?.lastTransitionTime);
  return since === undefined ? { lost: true } : { lost: true, since };
}
