// The pod status the kubelet would write (generateAPIPodStatus plus the
// status manager's transition-time bookkeeping), computed from the
// containers' API statuses. Pure: everything it needs is in the input.
import type { Container, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from "../api/types.js";
import { getPhase } from "./phase.js";

/** Set on pods the kubelet itself terminates (graceful node shutdown). */
export interface AbnormalTermination {
  reason: string;
  message: string;
  conditions: PodCondition[];
}

export interface PodStatusInput {
  pod: Pod;
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  /** No container will run again: the phase is final. */
  podIsTerminal: boolean;
  /** The "sandbox" (IP, volumes) exists: PodReadyToStartContainers. */
  sandboxReady: boolean;
  hostIP: string;
  podIP?: string;
  startTime?: string;
  /** What this kubelet last wrote for the pod, if anything. */
  previous?: PodStatus;
  abnormal?: AbnormalTermination;
  now: string;
}

const KUBELET_CONDITIONS = new Set(["PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers"]);
const isTerminal = (phase: PodPhase | undefined) => phase === "Succeeded" || phase === "Failed";
/** Go's %s of a []string. */
const goList = (names: string[]) => `[${names.join(" ")}]`;

function unreadyMessage(containers: Container[], statuses: ContainerStatus[], what: string, done: (s: ContainerStatus) => boolean) {
  const unknown: string[] = [];
  const notDone: string[] = [];
  for (const c of containers) {
    const s = statuses.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!done(s)) notDone.push(c.name);
  }
  const parts: string[] = [];
  if (unknown.length) parts.push(`containers with unknown status: ${goList(unknown)}`);
  if (notDone.length) parts.push(`containers with ${what} status: ${goList(notDone)}`);
  return { unknown: unknown.length, message: parts.join(", ") };
}

function containersReady(input: PodStatusInput, phase: PodPhase): Omit<PodCondition, "type"> {
  const { pod, containerStatuses } = input;
  const { unknown, message } = unreadyMessage(pod.spec.containers, containerStatuses, "unready", (s) => s.ready);
  if (phase === "Succeeded" && unknown === 0) return { status: "False", reason: "PodCompleted" };
  if (phase === "Failed") return { status: "False", reason: "PodFailed" };
  if (message) return { status: "False", reason: "ContainersNotReady", message };
  return { status: "True" };
}

function podReady(input: PodStatusInput, phase: PodPhase, conditions: PodCondition[]): Omit<PodCondition, "type"> {
  const ready = containersReady(input, phase);
  if (ready.status !== "True") return ready;
  const unready: string[] = [];
  for (const gate of input.pod.spec.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c) unready.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== "True") {
      unready.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
    }
  }
  if (unready.length) return { status: "False", reason: "ReadinessGatesNotReady", message: unready.join(", ") };
  return { status: "True" };
}

function initialized(input: PodStatusInput, phase: PodPhase): Omit<PodCondition, "type"> {
  const { pod, initContainerStatuses, containerStatuses } = input;
  const inits = pod.spec.initContainers ?? [];
  const { unknown, message } = unreadyMessage(inits, initContainerStatuses, "incomplete", (s) => s.ready);
  if (phase === "Succeeded" && unknown === 0) return { status: "True", reason: "PodCompleted" };
  // Once a regular container has started, the pod has been initialized.
  if (containerStatuses.some((s) => s.state.running || s.state.terminated)) return { status: "True" };
  if (message) return { status: "False", reason: "ContainersNotInitialized", message };
  return { status: "True" };
}

/** Keeps lastTransitionTime while a condition's status is unchanged (status manager). */
function stamp(conditions: PodCondition[], before: PodCondition[], now: string): PodCondition[] {
  return conditions.map((c) => {
    const old = before.find((b) => b.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastProbeTime: null, lastTransitionTime };
  });
}

/** An init container that exited 0 is ready, as the kubelet's prober manager reports it. */
function withInitReadiness(statuses: ContainerStatus[]): ContainerStatus[] {
  return statuses.map((s) => ({ ...s, ready: s.state.terminated?.exitCode === 0 }));
}

export function buildPodStatus(raw: PodStatusInput): PodStatus {
  const input = { ...raw, initContainerStatuses: withInitReadiness(raw.initContainerStatuses) };
  const { pod, previous, abnormal, now } = input;
  const api = pod.status ?? {};
  const old = previous ?? api;
  const all = [...input.containerStatuses, ...input.initContainerStatuses];

  let phase = getPhase(pod.spec, all, input.podIsTerminal);
  // A terminal phase, once reported, is never left.
  if (!isTerminal(phase)) {
    if (isTerminal(old.phase)) phase = old.phase as PodPhase;
    else if (isTerminal(api.phase)) phase = api.phase as PodPhase;
  }
  let reason = phase === old.phase ? (old.reason ?? api.reason) : undefined;
  let message = phase === old.phase ? (old.message ?? api.message) : undefined;
  if (abnormal) {
    if (phase !== "Succeeded") phase = "Failed";
    reason = abnormal.reason;
    message = abnormal.message;
  }
  if (isTerminal(api.phase) && phase !== api.phase) phase = api.phase as PodPhase;

  const generation = pod.metadata.generation;
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  // Conditions other components own (DisruptionTarget from an eviction, say) are kept;
  // a DisruptionTarget this kubelet set survives too.
  const conditions: PodCondition[] = (api.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const ownDisruption = [...(abnormal?.conditions ?? []), ...(old.conditions ?? []).filter((c) => c.type === "DisruptionTarget")];
  for (const c of ownDisruption.slice(0, 1)) {
    const i = conditions.findIndex((x) => x.type === c.type);
    if (i >= 0) conditions[i] = { ...c, ...gen };
    else conditions.push({ ...c, ...gen });
  }
  conditions.push({ type: "PodReadyToStartContainers", status: input.sandboxReady ? "True" : "False", ...gen });
  conditions.push({ type: "Initialized", ...initialized(input, phase), ...gen });
  conditions.push({ type: "Ready", ...podReady(input, phase, conditions), ...gen });
  conditions.push({ type: "ContainersReady", ...containersReady(input, phase), ...gen });
  conditions.push({ type: "PodScheduled", status: "True", ...gen });

  const hostIP = input.hostIP;
  const podIP = pod.spec.hostNetwork ? hostIP : input.podIP;
  return {
    ...gen,
    phase,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    conditions: stamp(conditions, [...(old.conditions ?? []), ...(api.conditions ?? [])], now),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    ...(input.startTime ? { startTime: input.startTime } : {}),
    ...(pod.spec.initContainers?.length ? { initContainerStatuses: input.initContainerStatuses } : {}),
    containerStatuses: [...input.containerStatuses].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(api.qosClass ? { qosClass: api.qosClass } : {}),
  };
}

/**
 * The strategic-merge patch that makes the API status equal `status`:
 * conditions merge by type (so conditions other writers added meanwhile
 * survive), cleared fields are sent as null, the uid guards against a pod
 * recreated under the same name.
 */
export function statusPatch(uid: string, status: PodStatus): unknown {
  const conditions = (status.conditions ?? []).map((c) => ({ reason: null, message: null, ...c }));
  return {
    metadata: { uid },
    status: {
      reason: null,
      message: null,
      ...status,
      conditions,
      "$setElementOrder/conditions": conditions.map((c) => ({ type: c.type })),
    },
  };
}
