// The pod phase from container statuses, as the kubelet's getPhase
// (pkg/kubelet/kubelet_pods.go) computes it with the ContainerRestartRules
// gate off (1.34's default). Restartable init containers (sidecars) are not
// run by the process kubelet, so they are treated as regular init containers.
import type { ContainerStatus, PodPhase, PodSpec } from "../api/types.js";

const statusOf = (statuses: ContainerStatus[], name: string) => statuses.find((s) => s.name === name);

export function getPhase(spec: PodSpec, statuses: ContainerStatus[], podIsTerminal: boolean): PodPhase {
  let pendingInit = 0;
  let failedInit = 0;
  for (const c of spec.initContainers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) {
      pendingInit++;
    } else if (s.state.running) {
      pendingInit++;
    } else if (s.state.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else {
        pendingInit++;
      }
    } else {
      pendingInit++;
    }
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers) {
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
    } else if (s.state.running) {
      running++;
    } else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) stopped++;
      else waiting++;
    } else {
      unknown++;
    }
  }

  const restartPolicy = spec.restartPolicy ?? "Always";
  if (failedInit > 0 && restartPolicy === "Never") return "Failed";
  if (pendingInit > 0 || waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}
