// A run labelled kueue.x-k8s.io/queue-name in the pass: each attempt one Kueue pod group, no
// node terms of the operator's own, Queued while Kueue's gate holds the pods (the gang bound
// counting from admission), and a quota preemption told apart from a spot reclaim and a failure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { RANK_LABEL } from "../../operator/src/api/group.js";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { QueueWorkload } from "../../operator/src/model/kueue.js";
import type { Decision } from "../../operator/src/model/types.js";
import { FakeClock, T0, aNode, aPod, aRun, afterWrite, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

const QUEUE = { "kueue.x-k8s.io/queue-name": "team-a", "kueue.x-k8s.io/priority-class": "low" };

function queued(run: TrainingRun, labels: Record<string, string> = QUEUE): TrainingRun {
  return { ...run, metadata: { ...run.metadata, labels } };
}

const createdPods = (d: Decision) => d.actions.flatMap((a) => (a.kind === "createPod" ? [a.pod] : []));
const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);
const GATE = { name: "kueue.x-k8s.io/admission" };

function gated(pod: V1Pod): V1Pod {
  return { ...pod, spec: { ...pod.spec!, schedulingGates: [GATE] } };
}

function rankPod(attempt: number, rank: number, o: Parameters<typeof aPod>[1] = {}): V1Pod {
  const pod = aPod(attempt, { uid: `pod-uid-${attempt}-${rank}`, ...o });
  pod.metadata!.name = `mnist-${attempt}-${rank}`;
  pod.metadata!.labels = { ...pod.metadata!.labels, [RANK_LABEL]: String(rank) };
  return pod;
}

function gangStatus(extra: { admittedAt?: string } = {}): TrainingRunStatus {
  const ranks = [0, 1, 2].map((rank) => ({ rank, pod: `mnist-1-${rank}`, uid: `pod-uid-1-${rank}` }));
  return { phase: "Pending", attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1-0", uid: "pod-uid-1-0", ranks, createdAt: T0.toISOString(), ...extra }], preemptions: 0, failures: 0 };
}

const pending: QueueWorkload = {
  metadata: { name: "mnist-1", namespace: "ml" },
  status: { conditions: [{ type: "QuotaReserved", status: "False", reason: "Pending", message: "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu" }] },
};

/** A pod Kueue stopped: marked TerminationTarget, deleted, its trainer flushed and exited 143. */
function stoppedByKueue(attempt: number, message: string): V1Pod {
  return running(attempt, {
    phase: "Failed",
    exitCode: 143,
    summary: { reason: "preempted", step: 240, checkpoint: { step: 240, bytes: 100 } },
    deletedAt: T0,
    conditions: [{ type: "TerminationTarget", status: "True", reason: "WorkloadEvicted", message }],
  });
}
const PREEMPTED_MESSAGE = "Preempted to accommodate a workload (UID: u, JobUID: j) due to prioritization in the ClusterQueue";

describe("reconcile: a run in a Kueue queue", () => {
  it("labels the attempt's pod as a pod group of 1 in the run's queue, with its priority class, and as never retried inside the group", () => {
    const pod = createdPods(pass(queued(aRun()), [], T0))[0]!;
    assert.equal(pod.metadata?.labels?.["kueue.x-k8s.io/queue-name"], "team-a");
    assert.equal(pod.metadata?.labels?.["kueue.x-k8s.io/priority-class"], "low");
    assert.equal(pod.metadata?.labels?.["kueue.x-k8s.io/pod-group-name"], "mnist-1");
    assert.equal(pod.metadata?.annotations?.["kueue.x-k8s.io/pod-group-total-count"], "1");
    assert.equal(pod.metadata?.annotations?.["kueue.x-k8s.io/retriable-in-group"], "false");
  });

  it("without the queue label the pod carries no Kueue label, annotation or condition", () => {
    const d = pass(aRun(), [], T0);
    const pod = createdPods(d)[0]!;
    assert.deepEqual(Object.keys(pod.metadata?.labels ?? {}).filter((k) => k.startsWith("kueue.")), []);
    assert.equal(pod.metadata?.annotations, undefined);
    assert.equal(condition(d, "Queued"), undefined);
  });

  it("makes a gang one group whose total count is its workers, and the next attempt a new group", () => {
    const pods = createdPods(pass(queued(aRun({ workers: 3 })), [], T0));
    assert.deepEqual(pods.map((p) => p.metadata?.labels?.["kueue.x-k8s.io/pod-group-name"]), ["mnist-1", "mnist-1", "mnist-1"]);
    assert.deepEqual(pods.map((p) => p.metadata?.annotations?.["kueue.x-k8s.io/pod-group-total-count"]), ["3", "3", "3"]);
    const ended = { ...startedStatus(1), attempts: [{ ...startedStatus(1).attempts![0]!, endTime: T0.toISOString(), endReason: "Preempted" as const }] };
    const next = createdPods(pass(queued(aRun({}, ended)), [], T0))[0]!;
    assert.equal(next.metadata?.labels?.["kueue.x-k8s.io/pod-group-name"], "mnist-2");
  });

  it("leaves spot or on-demand node terms to Kueue's flavor, and keeps the capacity fallback off", () => {
    const run = queued(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1 } } }));
    const d = pass(run, [], T0);
    const pod = createdPods(d)[0]!;
    assert.equal(pod.spec?.affinity, undefined);
    assert.equal(pod.spec?.tolerations, undefined);
    assert.equal(d.status.capacity, undefined);
    // The same run without a queue asks for spot nodes and keeps the policy's state.
    const direct = pass(aRun({ scheduling: { spot: true, fallback: { afterPreemptions: 1 } } }), [], T0);
    assert.ok(createdPods(direct)[0]!.spec?.affinity?.nodeAffinity);
    assert.equal(direct.status.capacity?.type, "spot");
  });
});

describe("reconcile: queued is not partially placed", () => {
  it("a gated gang past gangTimeoutSeconds is not ended: Queued=True names the queue and Kueue's reason, and no bound is requeued", () => {
    const clock = new FakeClock();
    const pods = [0, 1, 2].map((rank) => gated(rankPod(1, rank)));
    const d = pass(queued(aRun({ workers: 3, scheduling: { gangTimeoutSeconds: 60 } }, gangStatus())), pods, clock.advance(600), { workloads: [pending] });
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
    assert.ok(!eventReasons(d).includes("GangUnschedulable"));
    assert.equal(d.requeueAfterMs, undefined);
    const q = condition(d, "Queued");
    assert.equal(q?.status, "True");
    assert.equal(q?.reason, "Pending");
    assert.match(q?.message ?? "", /queue team-a: Pending: couldn't assign flavors.*insufficient quota/);
    assert.equal(d.status.phase, "Pending");
    assert.equal(condition(d, "Running")?.reason, "Queued");
    assert.equal(d.actions.filter((a) => a.kind === "deletePod").length, 0);
  });

  it("once admitted the gang bound counts from admission, not from creation", () => {
    const clock = new FakeClock();
    clock.advance(600);
    const admitted = [0, 1, 2].map((rank) => rankPod(1, rank));
    const run = queued(aRun({ workers: 3, scheduling: { gangTimeoutSeconds: 60 } }, gangStatus()));
    const first = pass(run, admitted, clock.now());
    assert.equal(first.status.attempts?.[0]?.admittedAt, clock.now().toISOString());
    assert.equal(first.status.attempts?.[0]?.endTime, undefined);
    assert.equal(condition(first, "Queued")?.status, "False");
    assert.equal(condition(first, "Queued")?.reason, "NotGated", "no Workload known: the pods alone cannot say admitted");
    const admittedWorkload: QueueWorkload = { metadata: { name: "mnist-1" }, status: { admission: { clusterQueue: "gpus" }, conditions: [{ type: "Admitted", status: "True" }] } };
    const told = pass(run, admitted, clock.now(), { workloads: [admittedWorkload] });
    assert.equal(condition(told, "Queued")?.reason, "Admitted");
    assert.match(condition(told, "Queued")?.message ?? "", /admitted from queue team-a by ClusterQueue gpus/);
    const within = pass(afterWrite(run, first), admitted, clock.advance(45));
    assert.equal(within.status.attempts?.[0]?.endTime, undefined);
    const past = pass(afterWrite(run, first), admitted, clock.advance(20));
    assert.equal(past.status.attempts?.[0]?.endReason, "GangUnschedulable");
  });

  it("a single gated pod says Queued with no Workload known, and is never replaced on spot's pending bound", () => {
    const clock = new FakeClock();
    const pod = gated(aPod(1, { conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated", lastTransitionTime: T0 }] }));
    const run = queued(aRun({ scheduling: { spot: true, fallback: { afterPendingSeconds: 30 } } }, startedStatus(1, { phase: "Pending" })));
    const d = pass(run, [pod], clock.advance(300));
    assert.equal(condition(d, "Queued")?.reason, "WaitingForAdmission");
    assert.match(condition(d, "Queued")?.message ?? "", /attempt 1 waits in queue team-a: waiting for Kueue's admission/);
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
    assert.ok(!eventReasons(d).includes("FellBackToOnDemand"));
  });
});

describe("reconcile: leaving the queue", () => {
  it("a queued attempt stopped by a suspend leaves Queued=False, NotWaiting, and the next attempt queues again", () => {
    const pod = gated(aPod(1));
    const waiting = { ...startedStatus(1, { phase: "Pending" }), conditions: [{ type: "Queued", status: "True" as const, reason: "Pending", message: "attempt 1 waits in queue team-a: Pending", lastTransitionTime: T0.toISOString() }] };
    const run = queued(aRun({ suspend: true }, waiting));
    const stopping = pass(run, [pod], T0);
    assert.deepEqual(stopping.actions.map((a) => a.kind), ["deletePod"]);
    // The gated pod is gone once Kueue has let it go: the attempt ends as suspended.
    const d = pass(afterWrite(run, stopping), [], T0);
    assert.equal(d.status.attempts?.[0]?.endReason, "Suspended");
    assert.equal(condition(d, "Queued")?.status, "False");
    assert.equal(condition(d, "Queued")?.reason, "NotWaiting");
    const resumed = pass(queued(aRun({}, d.status)), [], T0);
    assert.equal(createdPods(resumed)[0]?.metadata?.labels?.["kueue.x-k8s.io/pod-group-name"], "mnist-2");
  });
});

describe("reconcile: a quota preemption", () => {
  it("is QuotaPreempted: its own event and counter, no failure, no preemption budget, and the next attempt queues again", () => {
    const run = queued(aRun({ preemption: { maxPreemptions: 0 } }, startedStatus(1)));
    const d = pass(run, [stoppedByKueue(1, PREEMPTED_MESSAGE)], T0);
    const record = d.status.attempts?.[0];
    assert.equal(record?.endReason, "Preempted");
    assert.equal(record?.endDetail, "QuotaPreempted");
    assert.deepEqual(eventReasons(d), ["QuotaPreempted", "PodCreated"]);
    assert.match(d.events[0]!.message, /stopped by Kueue \(QuotaPreempted\) at step 240; the next attempt waits in queue team-a/);
    assert.equal(d.status.preemptions, 1);
    assert.equal(d.status.quotaPreemptions, 1);
    assert.equal(d.status.failures, 0);
    assert.notEqual(d.status.phase, "Failed");
    // The flushed pod is no longer alive: the next attempt is created in the same pass, a new group.
    assert.equal(createdPods(d)[0]?.metadata?.labels?.["kueue.x-k8s.io/pod-group-name"], "mnist-2");
  });

  it("asks once to delete the preempted pod that Kueue's finalizer keeps a while after it ended", () => {
    const preempted = { ...startedStatus(2), attempts: [{ ...startedStatus(2).attempts![0]!, endDetail: "QuotaPreempted" }, startedStatus(2).attempts![1]!] };
    const held = stoppedByKueue(1, PREEMPTED_MESSAGE);
    held.metadata!.finalizers = ["kueue.x-k8s.io/managed"];
    const d = pass(queued(aRun({}, preempted)), [held, gated(aPod(2))], T0);
    assert.deepEqual(d.actions.filter((a) => a.kind === "deletePod"), []);
    const notYet = { ...held, metadata: { ...held.metadata, deletionTimestamp: undefined } };
    const first = pass(queued(aRun({}, preempted)), [notYet, gated(aPod(2))], T0);
    assert.deepEqual(first.actions.filter((a) => a.kind === "deletePod").map((a) => a.kind === "deletePod" && a.reason), ["superseded by a newer attempt"]);
  });

  it("takes the Workload's Evicted reason over the pod's message, and names other Kueue stops Kueue<reason>", () => {
    const run = queued(aRun({}, startedStatus(1)));
    const evicted: QueueWorkload = { metadata: { name: "mnist-1" }, status: { conditions: [{ type: "Evicted", status: "True", reason: "Preempted", message: "x" }] } };
    const byWorkload = pass(run, [stoppedByKueue(1, "evicted")], T0, { workloads: [evicted] });
    assert.equal(byWorkload.status.attempts?.[0]?.endDetail, "QuotaPreempted");
    const other = pass(run, [stoppedByKueue(1, "Exceeded the PodsReady timeout")], T0);
    assert.equal(other.status.attempts?.[0]?.endDetail, "KueueWorkloadEvicted");
    // v0.19 names the eviction's cause in the mark's reason, which wins over everything else.
    const named = (reason: string) => {
      const pod = stoppedByKueue(1, "x");
      pod.status!.conditions![0]!.reason = reason;
      return pass(run, [pod], T0, { workloads: [evicted] }).status.attempts?.[0]?.endDetail;
    };
    assert.equal(named("WorkloadEvictedDueToPreempted"), "QuotaPreempted");
    assert.equal(named("WorkloadEvictedDueToPodsReadyTimeout"), "KueueEvictedPodsReadyTimeout");
    assert.equal(named("WorkloadDeleted"), "KueueWorkloadDeleted");
    assert.equal(other.status.attempts?.[0]?.endReason, "Preempted");
    assert.equal(other.status.failures, 0);
  });

  it("a spot reclaim of a queued run is still a spot preemption, charged to maxPreemptions", () => {
    const run = queued(aRun({ preemption: { maxPreemptions: 0 } }, startedStatus(1)));
    const pod = running(1, { phase: "Failed", exitCode: 143, deletedAt: T0, conditions: [{ type: "DisruptionTarget", status: "True", reason: "DeletionByPodGC" }] });
    const d = pass(run, [pod], T0, { nodes: [aNode("spot-1")] });
    assert.equal(d.status.attempts?.[0]?.endDetail, "DeletionByPodGC");
    assert.equal(d.status.quotaPreemptions, undefined);
    assert.equal(d.status.phase, "Failed");
  });
});
