import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { EndReason, TrainerSummary } from "../api/status.js";
import { isTerminating } from "./observed-pods.js";
import { toDate } from "./time.js";
import { readSummary, trainerStatus } from "./trainer-reports.js";

/** How an attempt ended, decided from one pod. */
export interface Outcome {
  reason: Exclude<EndReason, "Suspended">;
  /** The signal it was decided from: a DisruptionTarget reason, OOMKilled, ExitCode, … */
  detail: string;
  exitCode?: number;
  summary?: TrainerSummary;
  /** A failure a retry cannot fix: the trainer rejected its config (exit 2). */
  permanent?: boolean;
}

export type PodAssessment =
  | { ended: Outcome }
  | { ended?: undefined; running: boolean; node: NodeHealth };

export type NodeHealth = { lost: false } | { lost: true; since?: Date };

/** Pod reasons the kubelet and node lifecycle controllers use for pods they killed. */
const DISRUPTED_POD_REASONS = new Set(["Evicted", "Terminated", "Shutdown", "NodeLost"]);

/** Waiting reasons after which the trainer will not start without a change somewhere. */
const CANNOT_START_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "InvalidImageName",
  "ImagePullBackOff",
  "ErrImageNeverPull",
]);

const EXIT_PREEMPTED = 143;
const EXIT_INVALID_CONFIG = 2;
const EXIT_FENCED = 3;

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

  // Exit 0 means completed even on a pod marked for disruption (kubernetes#115688), unless
  // the summary says otherwise.
  if (exitCode === 0 && summary?.reason !== "preempted" && summary?.reason !== "failed") {
    return ended("Succeeded", "Completed");
  }
  const disruption = disruptionSignal(pod);
  if (disruption !== undefined) return ended("Preempted", disruption);
  if (summary?.reason === "preempted" && (exitCode === EXIT_PREEMPTED || exitCode === 0)) {
    return ended("Preempted", "TrainerPreempted");
  }
  if (terminated?.reason === "OOMKilled") return ended("Failed", "OOMKilled");
  if (exitCode === EXIT_INVALID_CONFIG) return ended("Failed", "InvalidConfig", { permanent: true });
  if (exitCode === EXIT_FENCED) return ended("Failed", "Fenced");
  if (exitCode !== undefined) return ended("Failed", "ExitCode");
  // Failed without the trainer ever running, e.g. rejected at kubelet admission.
  return ended("Failed", pod.status?.reason ?? "PodFailed");
}

/** Why the pod was disrupted from outside, if it was. */
function disruptionSignal(pod: V1Pod): string | undefined {
  const target = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  if (target) return target.reason ?? "DisruptionTarget";
  const reason = pod.status?.reason;
  if (reason !== undefined && DISRUPTED_POD_REASONS.has(reason)) return reason;
  // Deleted by someone while it ran; the operator's own deletions are told apart by the caller.
  if (isTerminating(pod)) return "PodDeleted";
  return undefined;
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
