// Builders and a fake clock for the reconcile tests: each test states only what it is about.
import type { CoreV1Event, V1ContainerStatus, V1Node, V1PersistentVolumeClaim, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION } from "@resumable/protocol";
import { ATTEMPT_LABEL, RUN_LABEL } from "../../operator/src/api/group.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import type { QueueWorkload } from "../../operator/src/model/kueue.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import { DEFAULT_SETTINGS, type OperatorSettings } from "../../operator/src/model/settings.js";
import type { Decision, Observed } from "../../operator/src/model/types.js";

export const RUN_UID = "run-uid-1";
export const T0 = new Date("2026-11-28T12:00:00.000Z");

/** A clock the tests move by hand. */
export class FakeClock {
  private ms = T0.getTime();
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): Date {
    this.ms += seconds * 1000;
    return this.now();
  }
}

export function aRun(spec: Partial<TrainingRunSpecInput> = {}, status?: TrainingRunStatus): TrainingRun {
  return {
    apiVersion: "resumable.dev/v1alpha1",
    kind: "TrainingRun",
    metadata: { name: "mnist", namespace: "ml", uid: RUN_UID, generation: 1 },
    spec: { training: { model: "mlp", totalSteps: 600 }, ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

/** The run as the next pass sees it after the runtime wrote `decision.status`. */
export function afterWrite(run: TrainingRun, decision: Decision): TrainingRun {
  return { ...run, status: decision.status };
}

interface PodOptions {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  node?: string;
  exitCode?: number;
  terminatedReason?: string;
  summary?: Record<string, unknown>;
  waiting?: string;
  waitingMessage?: string;
  conditions?: V1PodCondition[];
  reason?: string;
  deletedAt?: Date | string;
  progress?: Record<string, unknown>;
  uid?: string;
  ownerUid?: string;
  startTime?: Date | string;
}

/** The pod the operator creates for `attempt`, in the state the options describe. */
export function aPod(attempt: number, o: PodOptions = {}): V1Pod {
  const trainer: V1ContainerStatus = {
    name: "trainer",
    image: "resumable/trainer:0.1.0",
    imageID: "",
    ready: o.phase === "Running",
    restartCount: 0,
    state:
      o.exitCode !== undefined
        ? {
            terminated: {
              exitCode: o.exitCode,
              ...(o.terminatedReason ? { reason: o.terminatedReason } : {}),
              ...(o.summary ? { message: JSON.stringify(o.summary) } : {}),
            },
          }
        : o.waiting
          ? { waiting: { reason: o.waiting, ...(o.waitingMessage ? { message: o.waitingMessage } : {}) } }
          : o.phase === "Running"
            ? { running: {} }
            : {},
  };
  return {
    metadata: {
      name: `mnist-${attempt}`,
      namespace: "ml",
      uid: o.uid ?? `pod-uid-${attempt}`,
      labels: { [RUN_LABEL]: "mnist", [ATTEMPT_LABEL]: String(attempt) },
      ownerReferences: [
        { apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", name: "mnist", uid: o.ownerUid ?? RUN_UID, controller: true },
      ],
      ...(o.progress ? { annotations: { [PROGRESS_ANNOTATION]: JSON.stringify(o.progress) } } : {}),
      ...(o.deletedAt ? { deletionTimestamp: o.deletedAt as Date } : {}),
    },
    spec: { containers: [{ name: "trainer" }], ...(o.node === undefined ? {} : { nodeName: o.node }) },
    status: {
      phase: o.phase ?? "Pending",
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.conditions ? { conditions: o.conditions } : {}),
      ...(o.startTime ? { startTime: o.startTime as Date } : {}),
      containerStatuses: [trainer],
    },
  };
}

export const running = (attempt: number, o: PodOptions = {}) => aPod(attempt, { phase: "Running", node: "spot-1", ...o });

export function disruption(reason: string): V1PodCondition {
  return { type: "DisruptionTarget", status: "True", reason };
}

export function aNode(name: string, ready: "True" | "False" | "Unknown" = "True", since: Date | string = T0): V1Node {
  return {
    metadata: { name },
    status: { conditions: [{ type: "Ready", status: ready, lastTransitionTime: since as Date }] },
  };
}

export function aPvc(name = "mnist-checkpoints", accessModes = ["ReadWriteOnce"]): V1PersistentVolumeClaim {
  return { metadata: { name, namespace: "ml" }, spec: { accessModes } };
}

export const SETTINGS: OperatorSettings = { ...DEFAULT_SETTINGS, trainerServiceAccountName: "resumable-trainer" };

export function pass(
  run: TrainingRun,
  pods: V1Pod[],
  now: Date,
  world: { nodes?: V1Node[]; pvc?: V1PersistentVolumeClaim | null; mountFailures?: CoreV1Event[]; endedPodsGone?: V1Pod[]; workloads?: QueueWorkload[] } = {},
  settings: OperatorSettings = SETTINGS,
): Decision {
  const observed: Observed = {
    run,
    location: checkpointLocation(run),
    pods,
    nodes: new Map((world.nodes ?? [aNode("spot-1")]).map((n) => [n.metadata?.name ?? "", n])),
    now,
    ...(world.pvc === null ? {} : { pvc: world.pvc ?? aPvc() }),
    ...(world.mountFailures ? { mountFailures: world.mountFailures } : {}),
    ...(world.endedPodsGone ? { endedPodsGone: world.endedPodsGone } : {}),
    ...(world.workloads ? { workloads: world.workloads } : {}),
  };
  return reconcile(observed, settings);
}

export const eventReasons = (d: Decision) => d.events.map((e) => e.reason);
export const actionKinds = (d: Decision) => d.actions.map((a) => a.kind);

/** Status of a run whose attempt `attempt` pod has been created and seen. */
export function startedStatus(attempt = 1, extra: TrainingRunStatus = {}): TrainingRunStatus {
  const attempts = Array.from({ length: attempt }, (_, i) => ({
    attempt: i + 1,
    pod: `mnist-${i + 1}`,
    uid: `pod-uid-${i + 1}`,
    node: "spot-1",
    ...(i + 1 < attempt ? { endTime: T0.toISOString(), endReason: "Preempted" as const } : {}),
  }));
  return { phase: "Running", attempt, attempts, preemptions: attempt - 1, failures: 0, ...extra };
}
