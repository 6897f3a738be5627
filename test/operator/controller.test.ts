import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CoreV1Event, V1Node, V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import { pino } from "pino";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { Controller } from "../../operator/src/controller/controller.js";
import type { RunCache } from "../../operator/src/controller/observe-run.js";
import type { ClusterWriter } from "../../operator/src/controller/cluster-writer.js";
import { OperatorMetrics } from "../../operator/src/metrics/operator-metrics.js";
import { RunObserver } from "../../operator/src/metrics/run-observer.js";
import { DEFAULT_SETTINGS } from "../../operator/src/model/settings.js";
import type { Decision, Observed } from "../../operator/src/model/types.js";
import { deepFreeze, ManualClock, WorkQueue } from "@resumable/kube-runtime";

const KEY = "team/mnist";

function run(status: TrainingRunStatus = {}): TrainingRun {
  return deepFreeze({
    apiVersion: "resumable.dev/v1alpha1",
    kind: "TrainingRun",
    metadata: { name: "mnist", namespace: "team", uid: "run-uid", resourceVersion: "7", generation: 1 },
    spec: { training: {} },
    status,
  });
}

/** The cache as the controller sees it, filled by the test. */
class FakeCache implements RunCache {
  runs = new Map<string, TrainingRun>();
  pods: V1Pod[] = [];
  pvcs = new Map<string, V1PersistentVolumeClaim>();
  nodeMap = new Map<string, V1Node>();
  run = (key: string) => this.runs.get(key);
  podsOfRun = (namespace: string, name: string) =>
    this.pods.filter((p) => p.metadata?.namespace === namespace && p.metadata.labels?.["resumable.dev/run"] === name);
  pvc = (namespace: string, name: string) => this.pvcs.get(`${namespace}/${name}`);
  nodes = () => this.nodeMap;
  endedPodsGone = (): V1Pod[] => [];
  podsOnNode = (node: string) => this.pods.filter((p) => p.spec?.nodeName === node);
  mountFailures: CoreV1Event[] = [];
  mountFailuresOf = (_namespace: string, pod: V1Pod) => this.mountFailures.filter((e) => e.involvedObject.uid === pod.metadata?.uid);
  onRunChange = () => {};
  /** Every other run of the namespace: reconcile picks those whose location overlaps. */
  runsSharingStorage = (run: TrainingRun) =>
    [...this.runs.values()].filter((r) => r.metadata.namespace === run.metadata.namespace && r.metadata.name !== run.metadata.name);
  podsSharingStorage = (run: TrainingRun) =>
    this.pods.filter((p) => p.metadata?.namespace === run.metadata.namespace && p.metadata?.labels?.["resumable.dev/run"] !== run.metadata.name);
}

/** Records every write in order; a write can be made to fail. */
class FakeWriter implements ClusterWriter {
  writes: string[] = [];
  statusPatches: { resourceVersion: string; patch: unknown }[] = [];
  events: CoreV1Event[] = [];
  failing = new Set<string>();

  private record(what: string): Promise<void> {
    this.writes.push(what);
    return this.failing.has(what.split(" ")[0]!) ? Promise.reject(new Error(`${what} refused`)) : Promise.resolve();
  }
  createPod = (_ns: string, pod: V1Pod) => this.record(`createPod ${pod.metadata?.name}`);
  deletePod = (_ns: string, name: string) => this.record(`deletePod ${name}`);
  createPvc = (_ns: string, pvc: V1PersistentVolumeClaim) => this.record(`createPvc ${pvc.metadata?.name}`);
  createService = (_ns: string, service: V1Service) => this.record(`createService ${service.metadata?.name}`);
  patchRunStatus = (_ns: string, _name: string, resourceVersion: string, patch: unknown) => {
    this.statusPatches.push({ resourceVersion, patch });
    return this.record("status");
  };
  createEvent = (_ns: string, event: CoreV1Event) => {
    this.events.push(event);
    return this.record(`event ${event.reason}`);
  };
  patchPodAnnotation = (_ns: string, name: string) => this.record(`patchPodAnnotation ${name}`);
  patchClaimAnnotation = (_ns: string, name: string) => this.record(`patchClaimAnnotation ${name}`);
}

function setup(decide: (observed: Observed) => Decision) {
  const cache = new FakeCache();
  const writer = new FakeWriter();
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const metrics = new OperatorMetrics({ runs: () => [...cache.runs.values()], queueDepth: () => queue.depth() });
  const seen: Observed[] = [];
  let passes = 0;
  const controller = new Controller({
    cache,
    queue,
    writer,
    reconcile: (observed) => {
      seen.push(observed);
      return decide(observed);
    },
    settings: DEFAULT_SETTINGS,
    metrics,
    observer: new RunObserver(metrics),
    logger: pino({ level: "silent" }),
    instance: "test",
    workers: 2,
    now: () => new Date("2026-11-28T12:00:00Z"),
  });
  const originalDone = queue.done.bind(queue);
  queue.done = (key) => {
    passes++;
    originalDone(key);
  };
  controller.start();
  /** Waits until `n` passes in all have finished. */
  const passesDone = async (n: number): Promise<void> => {
    for (let i = 0; i < 1000 && passes < n; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(passes >= n, "the pass did not finish");
    await controller.eventsSent();
  };
  /** Adds the key and waits until a pass over it has finished. */
  const pass = async (): Promise<void> => {
    const target = passes + 1;
    queue.add(KEY);
    await passesDone(target);
  };
  return { cache, writer, clock, queue, metrics, controller, seen, pass, passesDone, passes: () => passes };
}

/** The run as the watch brings it back after the controller's status write. */
function written8(): TrainingRun {
  const r = run({ phase: "Pending" });
  return { ...r, metadata: { ...r.metadata, resourceVersion: "8" } };
}

const pod = (name: string): V1Pod => ({
  metadata: { name, namespace: "team", labels: { "resumable.dev/run": "mnist" } },
});

describe("Controller", () => {
  it("gives a pass the FailedMount events of the run's pods and the cached pods on a node, read from the cache", async () => {
    const t = setup((observed) => ({ actions: [], status: observed.run.status ?? {}, events: [] }));
    t.cache.runs.set(KEY, run({ phase: "Pending" }));
    const mine = { ...pod("mnist-1"), metadata: { ...pod("mnist-1").metadata, uid: "uid-1" }, spec: { nodeName: "spot-a", containers: [] } };
    t.cache.pods.push(mine);
    const failedMount = (uid: string): CoreV1Event => ({ metadata: {}, involvedObject: { kind: "Pod", uid }, reason: "FailedMount", message: 'secret "s3-key" not found' });
    t.cache.mountFailures.push(failedMount("uid-1"), failedMount("someone-else"));
    await t.pass();
    const observed = t.seen.at(-1)!;
    assert.deepEqual(observed.mountFailures?.map((e) => e.involvedObject.uid), ["uid-1"]);
    assert.deepEqual(observed.podsOnNode?.("spot-a").map((p) => p.metadata?.name), ["mnist-1"]);
  });

  it("applies actions, then writes status once as a pinned merge patch, then emits events", async () => {
    const t = setup(() => ({
      actions: [
        { kind: "createPVC", pvc: { metadata: { name: "mnist-checkpoints" } } },
        { kind: "createPod", pod: pod("mnist-1") },
      ],
      status: { phase: "Pending", attempt: 1 },
      events: [{ type: "Normal", reason: "PodCreated", message: "Created pod mnist-1 for attempt 1" }],
    }));
    t.cache.runs.set(KEY, run({ phase: "Pending", conditions: [] }));
    await t.pass();
    assert.deepEqual(t.writer.writes, ["createPvc mnist-checkpoints", "createPod mnist-1", "status", "event PodCreated"]);
    const decided = (await t.metrics.reconcileDecideDuration.get()).values.find((v) => v.metricName?.endsWith("_count"));
    assert.equal(decided?.value, 1, "the deciding part of the pass is timed on its own");
    assert.deepEqual(t.writer.statusPatches, [{ resourceVersion: "7", patch: { attempt: 1, conditions: null } }]);
    const event = t.writer.events[0]!;
    assert.equal(event.involvedObject.uid, "run-uid");
    assert.equal(event.involvedObject.kind, "TrainingRun");
    assert.equal(event.type, "Normal");
    await t.controller.stop();
  });

  it("reads only the caches: the run's pods, its claim, the nodes, and the runs and trainers sharing its storage", async () => {
    const t = setup((observed) => ({ actions: [], status: observed.run.status ?? {}, events: [] }));
    t.cache.runs.set(KEY, run());
    t.cache.runs.set("team/other", { ...run(), metadata: { ...run().metadata, name: "other", uid: "other-uid" } });
    t.cache.pods = [pod("mnist-1"), { metadata: { name: "other-1", namespace: "team", labels: { "resumable.dev/run": "other" } } }];
    t.cache.pvcs.set("team/mnist-checkpoints", { metadata: { name: "mnist-checkpoints", namespace: "team" } });
    t.cache.nodeMap.set("n1", { metadata: { name: "n1" } });
    await t.pass();
    const observed = t.seen[0]!;
    assert.deepEqual(observed.pods.map((p) => p.metadata?.name), ["mnist-1"]);
    assert.equal(observed.pvc?.metadata?.name, "mnist-checkpoints");
    assert.deepEqual([...observed.nodes.keys()], ["n1"]);
    assert.equal(observed.run.metadata.name, "mnist");
    assert.deepEqual(observed.otherRuns?.map((r) => r.metadata.name), ["other"]);
    assert.deepEqual(observed.otherPods?.map((p) => p.metadata?.name), ["other-1"]);
    await t.controller.stop();
  });

  it("skips the status write when nothing changed", async () => {
    const t = setup((observed) => ({ actions: [], status: structuredClone(observed.run.status ?? {}), events: [] }));
    t.cache.runs.set(KEY, run({ phase: "Running", attempt: 2, conditions: [] }));
    await t.pass();
    assert.deepEqual(t.writer.writes, []);
    await t.controller.stop();
  });

  it("a pass does not wait for its events; stop() waits for them to go out", async () => {
    const t = setup(() => ({ actions: [], status: { phase: "Pending", attempt: 1 }, events: [{ type: "Normal", reason: "PodCreated", message: "x" }] }));
    t.cache.runs.set(KEY, run({ phase: "Pending", conditions: [] }));
    let release: (() => void) | undefined;
    let sent = 0;
    t.writer.createEvent = () => new Promise<void>((resolve) => { release = () => { sent++; resolve(); }; });
    const doneBefore = (await t.metrics.reconciles.get()).values.find((v) => v.labels.result === "success")?.value ?? 0;
    t.queue.add(KEY);
    for (let i = 0; i < 1000 && release === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.ok(release, "the event's write started");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const done = (await t.metrics.reconciles.get()).values.find((v) => v.labels.result === "success")?.value ?? 0;
    assert.equal(done, doneBefore + 1, "the pass finished while its event was still in flight");
    let stopped = false;
    const stopping = t.controller.stop().then(() => { stopped = true; });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, "stop() waits for the event in flight");
    release!();
    await stopping;
    assert.equal(sent, 1);
  });

  it("emits no events when the status write fails, and retries the key with backoff", async () => {
    const t = setup(() => ({
      actions: [],
      status: { phase: "Failed" },
      events: [{ type: "Warning", reason: "Failed", message: "out of retries" }],
    }));
    t.cache.runs.set(KEY, run({ phase: "Running" }));
    t.writer.failing.add("status");
    await t.pass();
    assert.deepEqual(t.writer.writes, ["status"]);
    assert.equal(t.queue.retries(KEY), 1);
    t.writer.failing.clear();
    t.clock.advance(5);
    for (let i = 0; i < 100 && t.writer.events.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.writer.writes, ["status", "status", "event Failed"]);
    assert.equal(t.queue.retries(KEY), 0, "a successful pass forgets the failures");
    const errors = await t.metrics.reconcileErrors.get();
    assert.deepEqual(errors.values.map((v) => [v.labels.stage, v.value]), [["status", 1]]);
    await t.controller.stop();
  });

  it("stops a pass at the first failed action: no status write, no events", async () => {
    const t = setup(() => ({
      actions: [
        { kind: "deletePod", name: "mnist-1", reason: "ended" },
        { kind: "createPod", pod: pod("mnist-2") },
      ],
      status: { phase: "Restarting" },
      events: [{ type: "Normal", reason: "Resumed", message: "x" }],
    }));
    t.cache.runs.set(KEY, run({ phase: "Running" }));
    t.writer.failing.add("deletePod");
    await t.pass();
    assert.deepEqual(t.writer.writes, ["deletePod mnist-1"]);
    await t.controller.stop();
  });

  it("sends a gang's creates together, before any has answered, and the next kind of action only after all of them", async () => {
    const t = setup(() => ({
      actions: [
        { kind: "deletePod", name: "mnist-1-0", reason: "ended" },
        { kind: "createPod", pod: pod("mnist-2-0") },
        { kind: "createPod", pod: pod("mnist-2-1") },
        { kind: "createPod", pod: pod("mnist-2-2") },
        { kind: "createService", service: { metadata: { name: "mnist" } } },
      ],
      status: { phase: "Pending" },
      events: [],
    }));
    t.cache.runs.set(KEY, run({ phase: "Running" }));
    // Creates answer only once all three were sent: one at a time, the pass would never end.
    let release!: () => void;
    const allSent = new Promise<void>((resolve) => (release = resolve));
    const record = t.writer.createPod;
    t.writer.createPod = async (ns, p) => {
      await record(ns, p);
      if (t.writer.writes.filter((w) => w.startsWith("createPod")).length === 3) release();
      await allSent;
    };
    await t.pass();
    assert.deepEqual(t.writer.writes, ["deletePod mnist-1-0", "createPod mnist-2-0", "createPod mnist-2-1", "createPod mnist-2-2", "createService mnist", "status"]);
    await t.controller.stop();
  });

  it("a failed create among a gang's fails the pass once all of them have answered: no status write", async () => {
    const t = setup(() => ({
      actions: [{ kind: "createPod", pod: pod("mnist-2-0") }, { kind: "createPod", pod: pod("mnist-2-1") }, { kind: "createService", service: { metadata: { name: "mnist" } } }],
      status: { phase: "Pending" },
      events: [],
    }));
    t.cache.runs.set(KEY, run({ phase: "Running" }));
    t.writer.failing.add("createPod");
    await t.pass();
    assert.deepEqual(t.writer.writes, ["createPod mnist-2-0", "createPod mnist-2-1"]);
    await t.controller.stop();
  });

  it("tells the user why the apiserver refused a pod, as a Warning event and in the next pass's status, and retries after the backoff", async () => {
    // As reconcile does: knowing the refusal it creates nothing and says why the run waits.
    const t = setup((observed) =>
      observed.podRefusal
        ? { actions: [], status: { phase: "Pending", conditions: [{ type: "Running", status: "False", reason: observed.podRefusal.reason, message: observed.podRefusal.message, lastTransitionTime: "2026-11-28T12:00:00Z" }] }, events: [{ type: "Normal", reason: "Preempted", message: "attempt 1 was preempted" }] }
        : { actions: [{ kind: "createPod", pod: pod("mnist-1") }], status: { phase: "Pending", attempt: 1 }, events: [] },
    );
    t.cache.runs.set(KEY, run({ phase: "Pending" }));
    let creates = 0;
    t.writer.createPod = () => {
      creates++;
      return Promise.reject(Object.assign(new Error("HTTP-Code: 403"), {
        code: 403,
        body: JSON.stringify({ kind: "Status", message: 'pods "mnist-1" is forbidden: exceeded quota: gpu, requested: nvidia.com/gpu=1' }),
      }));
    };
    await t.pass();
    await t.passesDone(2);
    const event = t.writer.events[0];
    assert.equal(event?.type, "Warning");
    assert.equal(event?.reason, "QuotaExceeded");
    assert.equal(event?.message, 'Error creating pod mnist-1: pods "mnist-1" is forbidden: exceeded quota: gpu, requested: nvidia.com/gpu=1 (HTTP 403; retrying)');
    assert.deepEqual(t.seen.map((o) => o.podRefusal?.reason), [undefined, "QuotaExceeded"], "the next pass, queued at once, decides knowing the refusal");
    assert.equal(t.writer.statusPatches.length, 1, "the status says why the run waits");
    const written = t.writer.statusPatches[0]?.patch as TrainingRunStatus;
    assert.equal(written.attempt, undefined, "no attempt for a pod that does not exist");
    assert.equal(written.conditions?.[0]?.reason, "QuotaExceeded");
    assert.equal(creates, 1);
    assert.deepEqual(t.writer.events.map((e) => e.reason), ["QuotaExceeded", "Preempted"], "the second decision's events go out once its status is written");
    assert.equal(t.queue.retries(KEY), 1, "the pass that told the refusal keeps the backoff");
    // After the backoff (and the watch event of the status write) the create is tried again,
    // by a decision that no longer knows the refusal.
    t.cache.runs.set(KEY, written8());
    t.clock.advance(1_000);
    await t.passesDone(3);
    assert.equal(creates, 2);
    assert.equal(t.seen[2]?.podRefusal, undefined);
    assert.equal(t.queue.retries(KEY) >= 2, true, "the backoff grows while the refusal lasts");
    await t.controller.stop();
  });

  it("decides once per pass: a refused create is read by the next pass, never by a second reconcile in the same one", async () => {
    const t = setup((observed) =>
      observed.podRefusal || observed.podRejection
        ? { actions: [], status: { phase: "Pending" }, events: [] }
        : { actions: [{ kind: "createPod", pod: pod("mnist-1") }], status: { phase: "Pending", attempt: 1 }, events: [] },
    );
    t.cache.runs.set(KEY, run({}));
    const refusals = [
      Object.assign(new Error("HTTP-Code: 403"), { code: 403, body: JSON.stringify({ kind: "Status", message: "exceeded quota: gpu" }) }),
      Object.assign(new Error("HTTP-Code: 422"), { code: 422, body: JSON.stringify({ kind: "Status", reason: "Invalid", message: "invalid", details: { causes: [{ field: "spec.nodeSelector", message: "bad" }] } }) }),
    ];
    t.writer.createPod = () => Promise.reject(refusals.shift() ?? new Error("unexpected create"));
    await t.pass();
    await t.passesDone(2);
    t.cache.runs.set(KEY, written8());
    t.clock.advance(1_000);
    await t.passesDone(4);
    assert.equal(t.seen.length, t.passes(), "one reconcile call per pass");
    assert.deepEqual(
      t.seen.map((o) => (o.podRefusal ? "refusal" : o.podRejection ? "rejection" : "none")),
      ["none", "refusal", "none", "rejection"],
    );
    await t.controller.stop();
  });

  it("a pod the apiserver refuses as invalid is decided again by the next pass, knowing why: that decision is written, no retry, no FailedCreate", async () => {
    const t = setup((observed) =>
      observed.podRejection
        ? { actions: [], status: { phase: "Pending", conditions: [{ type: "Valid", status: "False", reason: "PodRejected", message: observed.podRejection.causes[0]?.field ?? "", lastTransitionTime: "2026-11-28T12:00:00Z" }] }, events: [{ type: "Warning", reason: "PodRejected", message: "refused" }] }
        : { actions: [{ kind: "createPod", pod: pod("mnist-1") }], status: { phase: "Pending", attempt: 1 }, events: [{ type: "Normal", reason: "PodCreated", message: "created" }] },
    );
    t.cache.runs.set(KEY, run({}));
    t.writer.createPod = () => Promise.reject(Object.assign(new Error("HTTP-Code: 422\nMessage: Unknown API Status Code!"), {
      code: 422,
      body: JSON.stringify({ kind: "Status", reason: "Invalid", message: 'Pod "mnist-1" is invalid: spec.nodeSelector: Invalid value: "bad key!"', details: { causes: [{ field: "spec.nodeSelector", message: "Invalid value" }] } }),
    }));
    await t.pass();
    await t.passesDone(2);
    assert.deepEqual(t.seen.map((o) => o.podRejection?.causes[0]?.field), [undefined, "spec.nodeSelector"]);
    assert.equal(t.writer.statusPatches.length, 1);
    assert.deepEqual((t.writer.statusPatches[0]?.patch as { phase: string }).phase, "Pending");
    assert.deepEqual(t.writer.events.map((e) => e.reason), ["PodRejected"], "the second decision's event only: no FailedCreate, no PodCreated");
    assert.equal(t.queue.retries(KEY), 0, "not retried with backoff");
    await t.controller.stop();
  });

  it("a refusal of an older generation is not told to a pass over a changed spec", async () => {
    const t = setup((observed) => ({ actions: observed.podRejection ? [] : [{ kind: "createPod", pod: pod("mnist-1") }], status: { phase: "Pending" }, events: [] }));
    t.cache.runs.set(KEY, run({}));
    const changed = run({});
    t.writer.createPod = () => {
      // The spec is fixed before the next pass runs.
      t.cache.runs.set(KEY, { ...changed, metadata: { ...changed.metadata, generation: 2 } });
      t.writer.createPod = () => Promise.resolve();
      return Promise.reject(Object.assign(new Error("HTTP-Code: 422"), {
        code: 422,
        body: JSON.stringify({ kind: "Status", reason: "Invalid", message: "invalid", details: { causes: [{ field: "spec.nodeSelector", message: "bad" }] } }),
      }));
    };
    await t.pass();
    await t.passesDone(2);
    assert.deepEqual(t.seen.map((o) => o.podRejection !== undefined), [false, false]);
    await t.controller.stop();
  });

  it("a checkpoint request that fails does not hold back the pass: the other actions, the status and the events still go out", async () => {
    const t = setup(() => ({
      actions: [
        { kind: "annotatePod", name: "mnist-1", uid: "pod-uid", annotation: "resumable.dev/checkpoint-request", value: "{}", purpose: "asking for a checkpoint" },
        { kind: "createPVC", pvc: { metadata: { name: "mnist-checkpoints" } } },
      ],
      status: { phase: "Running", attempt: 1 },
      events: [{ type: "Normal", reason: "ReclaimNotice", message: "x" }],
    }));
    t.cache.runs.set(KEY, run({ phase: "Running" }));
    t.writer.failing.add("patchPodAnnotation");
    await t.pass();
    assert.deepEqual(t.writer.writes, ["patchPodAnnotation mnist-1", "createPvc mnist-checkpoints", "status", "event ReclaimNotice"]);
    assert.equal(t.queue.retries(KEY), 0);
    await t.controller.stop();
  });

  it("a gang's headless service that cannot be created holds back nothing: the gang runs without it", async () => {
    const t = setup(() => ({
      actions: [
        { kind: "createPod", pod: { metadata: { name: "mnist-1-0" } } },
        { kind: "createService", service: { metadata: { name: "mnist" } } },
        { kind: "createPod", pod: { metadata: { name: "mnist-1-1" } } },
      ],
      status: { phase: "Pending", attempt: 1 },
      events: [{ type: "Normal", reason: "PodCreated", message: "x" }],
    }));
    t.cache.runs.set(KEY, run({ phase: "Pending" }));
    t.writer.failing.add("createService");
    await t.pass();
    assert.deepEqual(t.writer.writes, ["createPod mnist-1-0", "createService mnist", "createPod mnist-1-1", "status", "event PodCreated"]);
    assert.equal(t.queue.retries(KEY), 0);
    await t.controller.stop();
  });

  it("survives a reconcile that throws, and retries it", async () => {
    const t = setup(() => {
      throw new Error("bug");
    });
    t.cache.runs.set(KEY, run());
    await t.pass();
    assert.deepEqual(t.writer.writes, []);
    assert.equal(t.queue.retries(KEY), 1);
    await t.controller.stop();
  });

  it("requeues after the delay the decision asks for", async () => {
    const t = setup((observed) => ({ actions: [], status: observed.run.status ?? {}, events: [], requeueAfterMs: 30_000 }));
    t.cache.runs.set(KEY, run());
    await t.pass();
    t.clock.advance(29_999);
    await new Promise((r) => setImmediate(r));
    assert.equal(t.seen.length, 1);
    t.clock.advance(1);
    for (let i = 0; i < 100 && t.seen.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.equal(t.seen.length, 2);
    await t.controller.stop();
  });

  it("waits for the cache to show its own status write before deciding again", async () => {
    const t = setup(() => ({ actions: [], status: { phase: "Running" }, events: [] }));
    t.cache.runs.set(KEY, run({ phase: "Pending" }));
    await t.pass();
    await t.pass();
    assert.equal(t.seen.length, 1, "the cache still shows the version the write replaced");
    assert.deepEqual(t.writer.writes, ["status"]);
    t.cache.runs.set(KEY, deepFreeze({ ...run({ phase: "Running" }), metadata: { ...run().metadata, resourceVersion: "8" } }));
    await t.pass();
    assert.equal(t.seen.length, 2);
    assert.deepEqual(t.writer.writes, ["status"], "nothing left to write");
    await t.controller.stop();
  });

  it("does nothing for a run that is gone from the cache", async () => {
    const t = setup(() => assert.fail("no reconcile for a deleted run"));
    await t.pass();
    assert.deepEqual(t.writer.writes, []);
    await t.controller.stop();
  });
});
