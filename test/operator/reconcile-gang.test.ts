// A gang (spec.workers > 1) in the pass: its pods and their env, the peers, the formation
// bound, and the one outcome of an attempt read from all its ranks. workers: 1 is checked
// against decisions recorded before gangs existed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_ANNOTATION, GANG_PORT, PEERS_ANNOTATION, PEERS_FILE, encodePeers, parsePeers } from "@resumable/protocol";
import { RANK_LABEL } from "../../operator/src/api/group.js";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { Decision } from "../../operator/src/model/types.js";
import { FakeClock, T0, aNode, aPod, aRun, afterWrite, disruption, eventReasons, pass, running } from "./reconcile-fixtures.js";

type PodOptions = NonNullable<Parameters<typeof aPod>[1]> & { ip?: string; annotations?: Record<string, string> };

/** Rank `rank` of attempt `attempt` as the operator creates it, in the state the options describe. */
function rankPod(attempt: number, rank: number, o: PodOptions = {}): V1Pod {
  const pod = aPod(attempt, { uid: `pod-uid-${attempt}-${rank}`, ...o });
  pod.metadata!.name = `mnist-${attempt}-${rank}`;
  pod.metadata!.labels = { ...pod.metadata!.labels, [RANK_LABEL]: String(rank) };
  if (o.annotations) pod.metadata!.annotations = { ...pod.metadata!.annotations, ...o.annotations };
  if (o.ip) pod.status!.podIP = o.ip;
  return pod;
}
const runningRank = (attempt: number, rank: number, o: PodOptions = {}) => rankPod(attempt, rank, { phase: "Running", node: `spot-${rank}`, ip: `127.1.0.${rank + 1}`, ...o });
const nodes = [aNode("spot-0"), aNode("spot-1"), aNode("spot-2")];

const gang = (spec: Parameters<typeof aRun>[0] = {}, status?: TrainingRunStatus) => aRun({ workers: 3, ...spec }, status);

/** Status of a gang whose attempt `attempt` has been created at T0 and its ranks seen. */
function gangStatus(attempt = 1): TrainingRunStatus {
  const ranks = [0, 1, 2].map((rank) => ({ rank, pod: `mnist-${attempt}-${rank}`, uid: `pod-uid-${attempt}-${rank}`, node: `spot-${rank}` }));
  return {
    phase: "Running",
    attempt,
    attempts: [{ attempt, pod: `mnist-${attempt}-0`, uid: `pod-uid-${attempt}-0`, node: "spot-0", ranks, createdAt: T0.toISOString() }],
    preemptions: 0,
    failures: 0,
  };
}

const env = (pod: V1Pod) => new Map((pod.spec?.containers[0]?.env ?? []).map((e: V1EnvVar) => [e.name, e.value]));
const createdPods = (d: Decision) => d.actions.flatMap((a) => (a.kind === "createPod" ? [a.pod] : []));
const preempted = { reason: "preempted", step: 300, checkpoint: { step: 300, bytes: 1000 } };

describe("reconcile: a gang's pods", () => {
  it("creates the run's headless service and 3 pods <run>-<attempt>-<rank>, with the rank env and rank 0's DNS name", () => {
    const d = pass(gang(), [], T0);
    const service = d.actions.find((a) => a.kind === "createService");
    assert.ok(service?.kind === "createService");
    assert.equal(service.service.metadata?.name, "mnist");
    assert.equal(service.service.spec?.clusterIP, "None");
    assert.equal(service.service.spec?.publishNotReadyAddresses, true);
    assert.deepEqual(service.service.spec?.selector, { "resumable.dev/run": "mnist" });
    assert.equal(service.service.metadata?.ownerReferences?.[0]?.uid, "run-uid-1");

    const pods = createdPods(d);
    assert.deepEqual(pods.map((p) => p.metadata?.name), ["mnist-1-0", "mnist-1-1", "mnist-1-2"]);
    for (const [rank, pod] of pods.entries()) {
      assert.equal(pod.metadata?.labels?.[RANK_LABEL], String(rank));
      assert.equal(pod.metadata?.labels?.["resumable.dev/attempt"], "1");
      assert.equal(pod.spec?.hostname, `mnist-1-${rank}`);
      assert.equal(pod.spec?.subdomain, "mnist");
      const vars = env(pod);
      assert.equal(vars.get("RESUMABLE_RANK"), String(rank));
      assert.equal(vars.get("RANK"), String(rank));
      assert.equal(vars.get("RESUMABLE_WORLD_SIZE"), "3");
      assert.equal(vars.get("WORLD_SIZE"), "3");
      assert.equal(vars.get("LOCAL_RANK"), "0");
      assert.equal(vars.get("RESUMABLE_PEERS_FILE"), PEERS_FILE);
      assert.equal(vars.get("MASTER_ADDR"), "mnist-1-0.mnist.ml.svc");
      assert.equal(vars.get("MASTER_PORT"), String(GANG_PORT));
      const projected = pod.spec?.volumes?.find((v) => v.name === "checkpoint-request")?.downwardAPI?.items;
      assert.deepEqual(projected?.map((i) => [i.path, i.fieldRef?.fieldPath]), [
        ["checkpoint-request", `metadata.annotations['${CHECKPOINT_REQUEST_ANNOTATION}']`],
        ["peers", `metadata.annotations['${PEERS_ANNOTATION}']`],
      ]);
    }
    assert.equal(eventReasons(d).join(), "PodCreated");
    assert.match(d.events[0]!.message, /pods mnist-1-0, mnist-1-1, mnist-1-2 for attempt 1/);
    const record = d.status.attempts?.[0];
    assert.equal(record?.pod, "mnist-1-0");
    assert.deepEqual(record?.ranks, [0, 1, 2].map((rank) => ({ rank, pod: `mnist-1-${rank}` })));
    assert.equal(record?.createdAt, T0.toISOString());
  });

  it("gives only rank 0 the checkpoint volume; the others get everything else alike; the attempt holds every rank's GPUs", () => {
    const d = pass(gang({ scheduling: { spot: true }, resources: { limits: { "nvidia.com/gpu": 1 } } }), [], T0);
    assert.equal(d.status.attempts?.[0]?.gpus, 3);
    const pods = createdPods(d);
    const mounts = pods.map((p) => p.spec?.containers[0]?.volumeMounts?.map((m) => m.name));
    assert.deepEqual(mounts, [["checkpoints", "tmp", "checkpoint-request"], ["tmp", "checkpoint-request"], ["tmp", "checkpoint-request"]]);
    assert.equal(env(pods[0]!).get("RESUMABLE_CHECKPOINT_DIR"), "/checkpoints");
    assert.equal(env(pods[1]!).has("RESUMABLE_CHECKPOINT_DIR"), false);
    // Alike: the same placement (one capacity type), resources, image and config.
    for (const pod of pods.slice(1)) {
      assert.deepEqual(pod.spec?.tolerations, pods[0]!.spec?.tolerations);
      assert.deepEqual(pod.spec?.affinity, pods[0]!.spec?.affinity);
      assert.deepEqual(pod.spec?.nodeSelector, pods[0]!.spec?.nodeSelector);
      assert.deepEqual(pod.spec?.containers[0]?.resources, pods[0]!.spec?.containers[0]?.resources);
      assert.equal(pod.spec?.containers[0]?.image, pods[0]!.spec?.containers[0]?.image);
      assert.equal(env(pod).get("RESUMABLE_CONFIG"), env(pods[0]!).get("RESUMABLE_CONFIG"));
    }
    assert.ok(pods[0]!.spec?.affinity ?? pods[0]!.spec?.nodeSelector, "the spot node terms are there to be alike");
  });

  it("gives only rank 0 the bucket settings and credentials", () => {
    const s3 = { bucket: "bkt", prefix: "runs/a", endpoint: "http://s3:9000", credentialsSecret: { name: "s3-key" } };
    const pods = createdPods(pass(gang({ checkpoint: { storage: { s3 } } }), [], T0, { pvc: null }));
    const bucketVars = (pod: V1Pod) => [...env(pod).keys()].filter((k) => k.startsWith("RESUMABLE_CHECKPOINT") || k.startsWith("RESUMABLE_S3"));
    assert.deepEqual(bucketVars(pods[0]!), ["RESUMABLE_CHECKPOINT_URL", "RESUMABLE_S3_ENDPOINT", "RESUMABLE_S3_CREDENTIALS_DIR"]);
    assert.deepEqual(bucketVars(pods[2]!), []);
    assert.ok(pods[0]!.spec?.volumes?.some((v) => v.secret?.secretName === "s3-key"));
    assert.ok(!pods[2]!.spec?.volumes?.some((v) => v.secret !== undefined));
  });
});

describe("reconcile: workers 1 changes nothing", () => {
  // Decisions of the same passes recorded before gangs existed (the commit before them).
  const before = JSON.parse(readFileSync(new URL("fixtures/single-pod-decisions.json", import.meta.url), "utf8")) as Record<string, unknown>;
  const now = (d: Decision) => JSON.parse(JSON.stringify(d)) as unknown;
  for (const workers of [undefined, 1]) {
    const spec = workers === undefined ? {} : { workers };
    it(`workers ${workers ?? "unset"}: the same pod <run>-<attempt>, spec and status as before gangs`, () => {
      assert.deepEqual(now(pass(aRun(spec), [], T0)), before.plain);
      const spotBucket = { scheduling: { spot: true }, resources: { limits: { "nvidia.com/gpu": 1 } }, checkpoint: { storage: { s3: { bucket: "bkt", prefix: "runs/a", credentialsSecret: { name: "s3-key" } } } } };
      assert.deepEqual(now(pass(aRun({ ...spec, ...spotBucket }), [], T0)), before.spotBucket);
      const status = { phase: "Running" as const, attempt: 1, attempts: [{ attempt: 1, pod: "mnist-1", uid: "pod-uid-1", node: "spot-1" }], preemptions: 0, failures: 0 };
      assert.deepEqual(now(pass(aRun(spec, status), [running(1)], T0)), before.running);
    });
  }
});

describe("reconcile: a gang's attempt as one", () => {
  it("adopts a gang whose status write was lost, with its ranks, rather than recreating it", () => {
    const d = pass(gang({}, { attempt: 0 }), [runningRank(1, 0), runningRank(1, 1), runningRank(1, 2)], T0, { nodes });
    const record = d.status.attempts?.[0];
    assert.equal(record?.pod, "mnist-1-0");
    assert.deepEqual(record?.ranks?.map((r) => [r.pod, r.uid, r.node]), [0, 1, 2].map((r) => [`mnist-1-${r}`, `pod-uid-1-${r}`, `spot-${r}`]));
    assert.ok(!d.actions.some((a) => a.kind === "createPod"));
    assert.equal(d.status.phase, "Running");
  });

  it("creates again only a gang whose ranks were never seen, all of them, idempotently by name", () => {
    const status = gangStatus();
    status.attempts![0]!.ranks = status.attempts![0]!.ranks!.map((r) => (r.rank === 2 ? { rank: 2, pod: r.pod } : r));
    const d = pass(gang({}, status), [runningRank(1, 0), runningRank(1, 1)], T0, { nodes });
    assert.deepEqual(createdPods(d).map((p) => p.metadata?.name), ["mnist-1-0", "mnist-1-1", "mnist-1-2"]);
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
  });

  it("a seen rank whose pod is gone was deleted: the gang was preempted at that rank", () => {
    const d = pass(gang({}, gangStatus()), [runningRank(1, 0), runningRank(1, 2)], T0, { nodes });
    assert.equal(d.status.attempts?.[0]?.endReason, "Preempted");
    assert.equal(d.status.attempts?.[0]?.endDetail, "PodDeleted");
    assert.equal(d.status.attempts?.[0]?.disruptedRank, 1);
  });

  it("suspending a gang stops every rank, and their end is a suspension, not a preemption", () => {
    const run = gang({ suspend: true }, gangStatus());
    const d = pass(run, [runningRank(1, 0), runningRank(1, 1), runningRank(1, 2)], T0, { nodes });
    assert.deepEqual(d.actions.flatMap((a) => (a.kind === "deletePod" ? [a.name] : [])), ["mnist-1-0", "mnist-1-1", "mnist-1-2"]);
    const stopped = (rank: number) => rankPod(1, rank, { phase: "Failed", node: `spot-${rank}`, exitCode: 143, summary: preempted, deletedAt: T0 });
    const end = pass(afterWrite(run, d), [stopped(0), stopped(1), stopped(2)], T0, { nodes });
    assert.equal(end.status.attempts?.[0]?.endReason, "Suspended");
    assert.equal(end.status.preemptions, 0);
  });
});

describe("reconcile: a gang's peers", () => {
  const annotations = (d: Decision) => d.actions.flatMap((a) => (a.kind === "annotatePod" && a.annotation === PEERS_ANNOTATION ? [a] : []));

  it("publishes nothing while one rank has no IP: never a partial list", () => {
    const d = pass(gang({}, gangStatus()), [runningRank(1, 0), runningRank(1, 1), rankPod(1, 2, { node: "spot-2" })], T0, { nodes });
    assert.deepEqual(annotations(d), []);
  });

  it("publishes every rank's IP by rank on each pod, with its uid, once all are known", () => {
    const pods = [runningRank(1, 0), runningRank(1, 1), rankPod(1, 2, { node: "spot-2", ip: "127.1.0.3" })];
    const d = pass(gang({}, gangStatus()), pods, T0, { nodes });
    const published = annotations(d);
    assert.deepEqual(published.map((a) => [a.name, a.uid]), [0, 1, 2].map((r) => [`mnist-1-${r}`, `pod-uid-1-${r}`]));
    const value = published[0]!.value;
    assert.ok(published.every((a) => a.value === value));
    assert.deepEqual(parsePeers(value, { attempt: 1, worldSize: 3 }), { kind: "peers", peers: { attempt: 1, addresses: ["127.1.0.1", "127.1.0.2", "127.1.0.3"] } });
  });

  it("leaves a pod that carries exactly the list alone, and gives a pod with another list the new one", () => {
    const value = encodePeers({ attempt: 1, addresses: ["127.1.0.1", "127.1.0.2", "127.1.0.3"] });
    const stale = encodePeers({ attempt: 1, addresses: ["127.1.0.1", "127.1.0.9", "127.1.0.3"] });
    const pods = [runningRank(1, 0, { annotations: { [PEERS_ANNOTATION]: value } }), runningRank(1, 1, { annotations: { [PEERS_ANNOTATION]: stale } }), runningRank(1, 2, { annotations: { [PEERS_ANNOTATION]: value } })];
    const d = pass(gang({}, gangStatus()), pods, T0, { nodes });
    assert.deepEqual(annotations(d).map((a) => [a.name, a.value]), [["mnist-1-1", value]]);
  });
});

describe("reconcile: a gang forms all or nothing", () => {
  const unplaced = (rank: number) =>
    rankPod(1, rank, { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }] });
  const forming = () => [runningRank(1, 0), unplaced(1), rankPod(1, 2, { node: "spot-2" })];

  it("waits within gangTimeoutSeconds, says why, and looks again at the bound without a watch event", () => {
    const clock = new FakeClock();
    const d = pass(gang({ scheduling: { gangTimeoutSeconds: 60 } }, gangStatus()), forming(), clock.advance(45), { nodes });
    assert.equal(d.status.attempts?.[0]?.endTime, undefined);
    assert.equal(d.status.phase, "Pending");
    assert.match(d.status.conditions?.find((c) => c.type === "Running")?.message ?? "", /rank 1 was not placed: 0\/3 nodes are available/);
    assert.ok(d.requeueAfterMs !== undefined && d.requeueAfterMs <= 15_000, `requeue ${d.requeueAfterMs}`);
    assert.ok(!d.actions.some((a) => a.kind === "deletePod"));
  });

  it("at the bound ends the attempt GangUnschedulable, charged to no budget, names the ranks and the scheduler's reason, then deletes every pod", () => {
    const clock = new FakeClock();
    const run = gang({ scheduling: { gangTimeoutSeconds: 60 } }, gangStatus());
    const d = pass(run, forming(), clock.advance(60), { nodes });
    const record = d.status.attempts?.[0];
    assert.equal(record?.endReason, "GangUnschedulable");
    assert.equal(d.status.preemptions, 0);
    assert.equal(d.status.failures, 0);
    assert.equal(d.status.nextAttemptAt, new Date(clock.now().getTime() + 10_000).toISOString(), "the failures' backoff, first step");
    const event = d.events.find((e) => e.reason === "GangUnschedulable");
    assert.equal(event?.type, "Warning");
    assert.match(event?.message ?? "", /rank 1 was not placed: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\./);
    assert.match(event?.message ?? "", /rank 2 is Pending on node spot-2/);
    assert.doesNotMatch(event?.message ?? "", /rank 0/);

    const next = pass(afterWrite(run, d), forming(), clock.advance(1), { nodes });
    assert.deepEqual(next.actions.map((a) => a.kind === "deletePod" && a.gracePeriodSeconds === undefined ? a.name : a.kind), ["mnist-1-0", "mnist-1-1", "mnist-1-2"]);
    const gone = pass(afterWrite(run, next), [], clock.advance(1), { nodes });
    assert.equal(gone.status.phase, "Restarting");
    const why = gone.status.conditions?.find((c) => c.type === "Running");
    assert.equal(why?.reason, "GangUnschedulable");
    assert.deepEqual(gone.actions, [], "the next try waits for the backoff");
  });
});

describe("reconcile: a gang's outcome is one", () => {
  const evicted = (rank: number) => rankPod(1, rank, { phase: "Failed", node: `spot-${rank}`, exitCode: 143, summary: preempted, conditions: [disruption("EvictionByEvictionAPI")] });
  const agreedStop = (rank: number) => rankPod(1, rank, { phase: "Failed", node: `spot-${rank}`, exitCode: 143, summary: preempted });
  const peerLost = (rank: number) => rankPod(1, rank, { phase: "Failed", node: `spot-${rank}`, exitCode: 7, summary: { reason: "failed", step: 300, failure: { kind: "peerLost", message: "rank 1 stopped answering" } } });

  it("one rank evicted, survivors exiting 143 and 7: the gang was preempted at that rank, no failure", () => {
    const d = pass(gang({}, gangStatus()), [agreedStop(0), evicted(1), peerLost(2)], T0, { nodes });
    const record = d.status.attempts?.[0];
    assert.equal(record?.endReason, "Preempted");
    assert.equal(record?.endDetail, "EvictionByEvictionAPI");
    assert.equal(record?.disruptedRank, 1);
    assert.equal(record?.ranks?.[1]?.node, "spot-1");
    assert.equal(record?.reachedStep, 300);
    assert.equal(d.status.preemptions, 1);
    assert.equal(d.status.failures, 0);
    assert.match(d.events.find((e) => e.reason === "Preempted")?.message ?? "", /rank 1 \(pod mnist-1-1 on node spot-1\) was disrupted/);
  });

  it("a survivor that ended first does not take the disruption from the rank the cluster marked", () => {
    const stopping = runningRank(1, 1, { deletedAt: T0, conditions: [disruption("EvictionByEvictionAPI")] });
    const d = pass(gang({}, gangStatus()), [agreedStop(0), stopping, runningRank(1, 2)], T0, { nodes });
    assert.equal(d.status.attempts?.[0]?.disruptedRank, 1);
    assert.equal(d.status.attempts?.[0]?.endDetail, "EvictionByEvictionAPI");
  });

  it("ends as soon as one rank is disrupted, deletes the ranks still running, and starts all 3 again once they ended", () => {
    const clock = new FakeClock();
    const run = gang({}, gangStatus());
    const first = pass(run, [runningRank(1, 0), evicted(1), runningRank(1, 2)], clock.now(), { nodes });
    assert.equal(first.status.attempts?.[0]?.endReason, "Preempted");
    const second = pass(afterWrite(run, first), [runningRank(1, 0), evicted(1), runningRank(1, 2)], clock.advance(1), { nodes });
    const deletes = second.actions.flatMap((a) => (a.kind === "deletePod" ? [[a.name, a.gracePeriodSeconds]] : []));
    assert.deepEqual(deletes, [["mnist-1-0", undefined], ["mnist-1-2", undefined]], "graceful: the survivors flush if they can");
    assert.ok(!second.actions.some((a) => a.kind === "createPod"), "not while old ranks run");
    const third = pass(afterWrite(run, second), [agreedStop(0), evicted(1), agreedStop(2)], clock.advance(1), { nodes });
    assert.deepEqual(createdPods(third).map((p) => p.metadata?.name), ["mnist-2-0", "mnist-2-1", "mnist-2-2"]);
  });

  it("a rank failing on its own fails the gang with that rank's reason; survivors' PeerLost is not the cause", () => {
    const crashed = rankPod(1, 2, { phase: "Failed", node: "spot-2", exitCode: 1, summary: { reason: "failed", step: 12, error: "boom" } });
    const d = pass(gang({}, gangStatus()), [peerLost(0), peerLost(1), crashed], T0, { nodes });
    const record = d.status.attempts?.[0];
    assert.equal(record?.endReason, "Failed");
    assert.equal(record?.endDetail, "ExitCode");
    assert.equal(record?.exitCode, 1);
    assert.equal(record?.disruptedRank, undefined);
    assert.equal(d.status.failures, 1);
    assert.equal(d.status.preemptions, 0);
    assert.match(d.events.find((e) => e.reason === "RetryingAfterFailure")?.message ?? "", /rank 2 \(pod mnist-1-2 on node spot-2\)/);
  });

  it("ranks that all lost a peer with none disrupted: a failure PeerLost", () => {
    const d = pass(gang({}, gangStatus()), [peerLost(0), peerLost(1), peerLost(2)], T0, { nodes });
    assert.equal(d.status.attempts?.[0]?.endReason, "Failed");
    assert.equal(d.status.attempts?.[0]?.endDetail, "PeerLost");
  });

  it("a rank on a lost node while the others still train: the gang ends as NodeLost after the stuck-pod timeout", () => {
    const clock = new FakeClock();
    const lostNodes = [aNode("spot-0"), aNode("spot-1", "Unknown", T0), aNode("spot-2")];
    const run = gang({}, gangStatus());
    const pods = [runningRank(1, 0), runningRank(1, 1), runningRank(1, 2)];
    const before = pass(run, pods, clock.advance(10), { nodes: lostNodes });
    assert.equal(before.status.attempts?.[0]?.endTime, undefined);
    const after = pass(afterWrite(run, before), pods, clock.advance(300), { nodes: lostNodes });
    const record = after.status.attempts?.[0];
    assert.equal(record?.endReason, "Preempted");
    assert.equal(record?.endDetail, "NodeLost");
    assert.equal(record?.disruptedRank, 1);
  });

  it("a rank on a lost node whose peers all exited 7: preempted at once, and its pod force-deleted by the next pass", () => {
    const lostNodes = [aNode("spot-0"), aNode("spot-1", "Unknown", T0), aNode("spot-2")];
    const run = gang({}, gangStatus());
    const pods = [peerLost(0), runningRank(1, 1), peerLost(2)];
    const d = pass(run, pods, T0, { nodes: lostNodes });
    const record = d.status.attempts?.[0];
    assert.equal(record?.endReason, "Preempted");
    assert.equal(record?.endDetail, "NodeLost");
    assert.equal(record?.disruptedRank, 1);
    assert.equal(d.status.failures, 0);
    const next = pass(afterWrite(run, d), pods, T0, { nodes: lostNodes });
    assert.deepEqual(next.actions.flatMap((a) => (a.kind === "deletePod" ? [[a.name, a.gracePeriodSeconds]] : [])), [["mnist-1-1", 0]], "the ended ranks are kept for their logs");
  });

  it("all ranks completed: the run succeeded with rank 0's summary as the result", () => {
    const done = (rank: number) => rankPod(1, rank, { phase: "Succeeded", node: `spot-${rank}`, exitCode: 0, summary: { reason: "completed", step: 600, totalSteps: 600, weightsSha256: rank === 0 ? "rank0" : "other" } });
    const d = pass(gang({}, gangStatus()), [done(0), done(1), done(2)], T0, { nodes });
    assert.equal(d.status.phase, "Succeeded");
    assert.equal(d.status.result?.weightsSha256, "rank0");
    assert.equal(d.status.attempts?.[0]?.disruptedRank, undefined);
  });

  it("a reclaim notice on one rank's node asks that rank's pod for a checkpoint", () => {
    const noticed = aNode("spot-2");
    noticed.spec = { taints: [{ key: "aws-node-termination-handler/spot-itn", effect: "NoSchedule" }] };
    const d = pass(gang({}, gangStatus()), [runningRank(1, 0), runningRank(1, 1), runningRank(1, 2)], T0, { nodes: [aNode("spot-0"), aNode("spot-1"), noticed] });
    const asks = d.actions.flatMap((a) => (a.kind === "annotatePod" && a.annotation === CHECKPOINT_REQUEST_ANNOTATION ? [a.name] : []));
    assert.deepEqual(asks, ["mnist-1-2"]);
    assert.equal(d.status.attempts?.[0]?.noticeSource, "aws-spot-itn");
  });
});
