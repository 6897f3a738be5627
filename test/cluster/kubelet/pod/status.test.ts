import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerStatus, Pod } from "../api/types.js";
import { exitState, initialStatus, running, terminated } from "./container/status.js";
import { nodeShutdownTermination } from "../node/shutdown.js";
import { buildPodStatus, statusPatch, type PodStatusInput } from "./status.js";

const pod: Pod = {
  metadata: { name: "p", namespace: "default", uid: "u1", generation: 1 },
  spec: { nodeName: "spot-a", restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
  status: {
    phase: "Pending",
    qosClass: "BestEffort",
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" },
      { type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", lastTransitionTime: "2026-01-01T00:00:01Z" },
    ],
  },
};
const main = initialStatus(pod.spec.containers[0]!, false);
const input = (statuses: ContainerStatus[], extra: Partial<PodStatusInput> = {}): PodStatusInput => ({
  pod,
  initContainerStatuses: [],
  containerStatuses: statuses,
  podIsTerminal: false,
  sandboxReady: true,
  hostIP: "127.0.0.1",
  podIP: "127.1.0.2",
  startTime: "2026-01-01T00:00:02Z",
  now: "2026-01-01T00:00:05Z",
  ...extra,
});
const condition = (s: ReturnType<typeof buildPodStatus>, type: string) => s.conditions?.find((c) => c.type === type);

describe("buildPodStatus", () => {
  it("reports a waiting container as the kubelet does", () => {
    const s = buildPodStatus(input([main]));
    assert.equal(s.phase, "Pending");
    assert.deepEqual(s.containerStatuses?.[0]?.state, { waiting: { reason: "ContainerCreating" } });
    assert.equal(condition(s, "Ready")?.reason, "ContainersNotReady");
    assert.equal(condition(s, "Ready")?.message, "containers with unready status: [main]");
    assert.equal(condition(s, "Initialized")?.status, "True");
    assert.equal(s.podIP, "127.1.0.2");
    assert.deepEqual(s.hostIPs, [{ ip: "127.0.0.1" }]);
  });

  it("keeps other writers' conditions and the scheduler's transition time", () => {
    const s = buildPodStatus(input([main]));
    assert.equal(condition(s, "DisruptionTarget")?.reason, "EvictionByEvictionAPI");
    assert.equal(condition(s, "PodScheduled")?.lastTransitionTime, "2026-01-01T00:00:00Z");
    assert.deepEqual(
      s.conditions?.map((c) => c.type),
      ["DisruptionTarget", "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"],
    );
  });

  it("is Running and Ready with a running container", () => {
    const run = running(main, { containerID: "process://1", imageID: "sha256:x", startedAt: "t", restarted: false });
    const s = buildPodStatus(input([run]));
    assert.equal(s.phase, "Running");
    assert.equal(condition(s, "Ready")?.status, "True");
    assert.equal(condition(s, "Ready")?.message, undefined);
  });

  it("reports PodCompleted once every container succeeded", () => {
    const done = terminated(main, exitState({ exitCode: 0, startedAt: "a", finishedAt: "b", containerID: "process://1" }));
    const s = buildPodStatus(input([done], { podIsTerminal: true, sandboxReady: false }));
    assert.equal(s.phase, "Succeeded");
    assert.equal(s.containerStatuses?.[0]?.state.terminated?.reason, "Completed");
    assert.equal(condition(s, "Ready")?.reason, "PodCompleted");
    assert.equal(condition(s, "PodReadyToStartContainers")?.status, "False");
  });

  it("marks a pod terminated by node shutdown Failed with reason Terminated and DisruptionTarget", () => {
    const killed = terminated(main, exitState({ exitCode: 143, startedAt: "a", finishedAt: "b", containerID: "process://1" }));
    const s = buildPodStatus(input([killed], { podIsTerminal: true, abnormal: nodeShutdownTermination("t") }));
    assert.equal(s.phase, "Failed");
    assert.equal(s.reason, "Terminated");
    assert.equal(s.message, "Pod was terminated in response to imminent node shutdown.");
    assert.equal(s.containerStatuses?.[0]?.state.terminated?.reason, "Error");
    const dt = condition(s, "DisruptionTarget");
    assert.equal(dt?.reason, "TerminationByKubelet");
    assert.equal(dt?.message, "Pod was terminated in response to imminent node shutdown.");
  });

  it("never leaves a terminal phase", () => {
    const previous = buildPodStatus(input([terminated(main, exitState({ exitCode: 1, startedAt: "a", finishedAt: "b", containerID: "c" }))], { podIsTerminal: true }));
    assert.equal(previous.phase, "Failed");
    const s = buildPodStatus(input([main], { previous }));
    assert.equal(s.phase, "Failed");
  });

  it("keeps a condition's transition time while its status holds", () => {
    const first = buildPodStatus(input([main]));
    const later = buildPodStatus(input([main], { previous: first, now: "2026-01-01T00:09:00Z" }));
    assert.equal(condition(later, "Ready")?.lastTransitionTime, "2026-01-01T00:00:05Z");
  });

  it("patches with nulls for cleared fields and the uid as precondition", () => {
    const patch = statusPatch("u1", buildPodStatus(input([main]))) as {
      metadata: { uid: string };
      status: { reason: null; conditions: { type: string; message: string | null }[] };
    };
    assert.equal(patch.metadata.uid, "u1");
    assert.equal(patch.status.reason, null);
    assert.equal(patch.status.conditions.find((c) => c.type === "PodScheduled")?.message, null);
  });
});
