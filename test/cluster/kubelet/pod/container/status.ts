// A container's API status through its life, in the shapes the kubelet
// reports (convertToAPIContainerStatuses): waiting → running → terminated,
// and on a restart the last termination moves to lastState.
import type { Container, ContainerStateTerminated, ContainerStatus } from "../../api/types.js";

/** The runtime's StartError carries the zero time as startedAt. */
const ZERO_TIME = "1970-01-01T00:00:00Z";

export function initialStatus(container: Container, podHasInitContainers: boolean): ContainerStatus {
  return {
    name: container.name,
    image: container.image ?? "",
    imageID: "",
    state: { waiting: { reason: podHasInitContainers ? "PodInitializing" : "ContainerCreating" } },
    lastState: {},
    ready: false,
    started: false,
    restartCount: 0,
  };
}

/** Moves a finished instance to lastState, as the kubelet shows a container about to restart. */
function retire(prev: ContainerStatus): ContainerStatus["lastState"] {
  return prev.state.terminated ? { terminated: prev.state.terminated } : prev.lastState;
}

export function waiting(prev: ContainerStatus, reason: string, message?: string): ContainerStatus {
  return {
    ...prev,
    state: { waiting: message ? { reason, message } : { reason } },
    lastState: retire(prev),
    ready: false,
    started: false,
  };
}

/**
 * The bookkeeping of a new instance: the runtime counts earlier instances as
 * restarts, and the last one's end becomes lastState.
 */
export function nextInstance(prev: ContainerStatus, restarted: boolean): ContainerStatus {
  return { ...prev, lastState: retire(prev), restartCount: prev.restartCount + (restarted ? 1 : 0) };
}

/** A new instance is running; `restarted` when an earlier instance of this container existed. */
export function running(
  prev: ContainerStatus,
  instance: { containerID: string; imageID: string; startedAt: string; restarted: boolean },
): ContainerStatus {
  return {
    ...nextInstance(prev, instance.restarted),
    containerID: instance.containerID,
    imageID: instance.imageID,
    state: { running: { startedAt: instance.startedAt } },
    // Ready at once; a readiness probe, if any, takes over (slot.ts).
    ready: true,
    started: true,
  };
}

export function terminated(prev: ContainerStatus, end: ContainerStateTerminated): ContainerStatus {
  const { containerID } = end;
  return {
    ...prev,
    ...(containerID ? { containerID } : {}),
    state: { terminated: end },
    ready: false,
    started: false,
  };
}

/** The terminated state of an exit: reason Completed for 0, Error otherwise (no OOM detection here). */
export function exitState(exit: {
  exitCode: number;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}): ContainerStateTerminated {
  return {
    exitCode: exit.exitCode,
    reason: exit.exitCode === 0 ? "Completed" : "Error",
    ...(exit.message ? { message: exit.message } : {}),
    startedAt: exit.startedAt,
    finishedAt: exit.finishedAt,
    containerID: exit.containerID,
  };
}

/** A container the runtime created but could not start (the executable is missing, say). */
export function startErrorState(message: string, finishedAt: string, containerID: string): ContainerStateTerminated {
  return { exitCode: 128, reason: "StartError", message, startedAt: ZERO_TIME, finishedAt, containerID };
}

/**
 * A container that an earlier kubelet left running and that is gone now
 * (the kubelet's ContainerStatusUnknown case).
 */
export function lostState(): ContainerStateTerminated {
  return {
    exitCode: 137,
    reason: "ContainerStatusUnknown",
    message: "The container could not be located when the pod was terminated",
  };
}
