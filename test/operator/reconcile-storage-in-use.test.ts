// Two live runs of a namespace never share a checkpoint location (one PVC, or overlapping
// prefixes of one bucket): the one that started, else the older, else the first by name,
// holds it; the other is Valid=False StorageInUse naming it, gets no pod, and starts once
// the holder finishes or goes away.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deepFreeze } from "@resumable/kube-runtime";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import { locationIndexKeys, overlapLookups, overlaps, podLocation, storageLocation } from "../../operator/src/model/storage-claims.js";
import { SETTINGS, T0, aNode, aPvc, aRun, afterWrite, startedStatus } from "./reconcile-fixtures.js";
import type { TrainingRunStatus } from "../../operator/src/api/status.js";
import type { V1Pod } from "@kubernetes/client-node";

function named(name: string, spec: Partial<TrainingRunSpecInput>, createdAt: string, status?: TrainingRunStatus): TrainingRun {
  const run = aRun(spec, status);
  return { ...run, metadata: { ...run.metadata, name, uid: `uid-${name}`, creationTimestamp: new Date(createdAt) } };
}

function passWith(run: TrainingRun, otherRuns: TrainingRun[], otherPods: V1Pod[] = []) {
  return reconcile({ run, location: checkpointLocation(run), pods: [], pvc: aPvc(run.spec.checkpoint?.claimName ?? `${run.metadata.name}-checkpoints`), nodes: new Map([["spot-1", aNode("spot-1")]]), now: T0, otherRuns, otherPods }, SETTINGS);
}

/** The trainer pod the operator made for `run`'s first attempt, in `phase`. */
function trainerPodOf(run: TrainingRun, phase: string): V1Pod {
  const create = passWith(run, []).actions.find((a) => a.kind === "createPod");
  assert.ok(create?.kind === "createPod");
  return { ...create.pod, status: { phase } };
}

const valid = (d: ReturnType<typeof passWith>) => d.status.conditions?.find((c) => c.type === "Valid");
const kinds = (d: ReturnType<typeof passWith>) => d.actions.map((a) => a.kind);
const shared = { checkpoint: { claimName: "shared" } };
const s3 = (prefix: string, bucket = "ckpt") => ({ checkpoint: { storage: { s3: { bucket, prefix } } } });

describe("reconcile: a checkpoint location another live run holds", () => {
  it("two runs on one claimName: the older starts; the newer is Valid=False StorageInUse naming it, no pod, Pending, one Warning", () => {
    const first = named("first", shared, "2026-12-01T00:00:00Z");
    const second = named("second", shared, "2026-12-01T00:00:05Z");
    assert.deepEqual(kinds(passWith(first, [second])), ["createPod"]);
    const d = passWith(second, [first]);
    assert.equal(valid(d)?.status, "False");
    assert.equal(valid(d)?.reason, "StorageInUse");
    assert.match(valid(d)?.message ?? "", /^spec\.checkpoint\.claimName: PersistentVolumeClaim shared is used by TrainingRun first, which holds it; no pod until first finishes or is deleted$/);
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.phase, "Pending");
    assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [["Warning", "StorageInUse"]]);
    // Seen again: nothing new, no hot loop.
    const again = passWith(afterWrite(second, d), [first]);
    assert.deepEqual(again.status, d.status);
    assert.deepEqual(again.events, []);
  });

  it("leaves the other runs (shared with the cache) untouched and decides the same twice", () => {
    const others = deepFreeze([named("b", shared, "2026-12-01T00:00:00Z", startedStatus(1)), named("c", shared, "2026-12-01T00:00:01Z")]);
    const run = deepFreeze(named("a", shared, "2026-12-01T00:00:02Z"));
    assert.deepEqual(passWith(run, others), passWith(run, others));
  });

  it("two runs applied together (one creationTimestamp): the name decides, so exactly one gets a pod", () => {
    const a = named("a", shared, "2026-12-01T00:00:00Z");
    const b = named("b", shared, "2026-12-01T00:00:00Z");
    assert.deepEqual([kinds(passWith(a, [b])), kinds(passWith(b, [a]))], [["createPod"], []]);
  });

  it("a run that has started keeps its location against an older run that has not", () => {
    const older = named("older", shared, "2026-12-01T00:00:00Z");
    const runningRun = named("running", shared, "2026-12-01T00:00:05Z", startedStatus(1));
    assert.equal(valid(passWith(older, [runningRun]))?.reason, "StorageInUse");
    assert.equal(valid(passWith(runningRun, [older]))?.status, "True");
  });

  it("when the holder goes away, or finishes, the waiting run becomes Valid and starts", () => {
    const holder = named("holder", shared, "2026-12-01T00:00:00Z", startedStatus(1));
    const waiting = named("waiting", shared, "2026-12-01T00:00:05Z");
    const refused = afterWrite(waiting, passWith(waiting, [holder]));
    assert.equal(valid(passWith(refused, [holder]))?.reason, "StorageInUse");
    const gone = passWith(refused, []);
    assert.equal(valid(gone)?.status, "True");
    assert.deepEqual(kinds(gone), ["createPod"]);
    // A finished run's trainer is gone: a new run may continue from its checkpoints.
    for (const phase of ["Succeeded", "Failed"] as const) {
      const finished = { ...holder, status: { ...holder.status, phase } };
      assert.deepEqual(kinds(passWith(refused, [finished])), ["createPod"], phase);
    }
  });

  it("a trainer pod that outlives its run (deleted, or finished) still writes there: no attempt starts until it has stopped", () => {
    for (const spec of [shared, s3("runs/a")]) {
      const gone = named("gone", spec, "2026-12-01T00:00:00Z");
      const waiting = named("waiting", spec, "2026-12-01T00:00:05Z");
      const d = passWith(waiting, [], [trainerPodOf(gone, "Running")]);
      assert.deepEqual(d.actions, [], JSON.stringify(spec));
      assert.equal(valid(d)?.status, "True", "valid: it only waits");
      const running = d.status.conditions?.find((c) => c.type === "Running");
      assert.equal(running?.reason, "StorageInUse");
      assert.match(running?.message ?? "", /^pod gone-1 of TrainingRun gone still writes to (pvc\/shared|s3:\/\/ckpt\/runs\/a); attempt 1 starts once it has stopped$/);
      assert.equal(d.status.attempt ?? 0, 0, "no attempt recorded");
      for (const phase of ["Succeeded", "Failed"]) assert.deepEqual(kinds(passWith(waiting, [], [trainerPodOf(gone, phase)])), ["createPod"], phase);
      assert.deepEqual(kinds(passWith(waiting, [], [])), ["createPod"]);
    }
  });

  it("a pod's location is read back from the pod the operator renders, for a PVC and a bucket", () => {
    for (const spec of [shared, {}, s3("runs/a/"), s3("runs//a/b")]) {
      const run = named("r", spec, "2026-12-01T00:00:00Z");
      assert.deepEqual(podLocation(trainerPodOf(run, "Running")), storageLocation(run), JSON.stringify(spec));
    }
  });

  it("a suspended or deleting holder still holds: its trainer may come back or still be stopping", () => {
    const waiting = named("waiting", shared, "2026-12-01T00:00:05Z");
    const suspended = named("holder", { ...shared, suspend: true }, "2026-12-01T00:00:00Z", startedStatus(1, { phase: "Suspended" }));
    assert.equal(valid(passWith(waiting, [suspended]))?.reason, "StorageInUse");
    const deleting = { ...suspended, metadata: { ...suspended.metadata, deletionTimestamp: T0 } };
    assert.equal(valid(passWith(waiting, [deleting]))?.reason, "StorageInUse");
  });

  it("an older run refused for a reason of its own (and never started) holds nothing; one waiting for StorageInUse still holds", () => {
    const broken = named("broken", { ...shared, image: "x" }, "2026-12-01T00:00:00Z", {
      conditions: [{ type: "Valid", status: "False", reason: "ImageNotAllowed", message: "m", lastTransitionTime: T0.toISOString(), observedGeneration: 1 }],
    });
    const next = named("next", shared, "2026-12-01T00:00:05Z");
    assert.deepEqual(kinds(passWith(next, [broken])), ["createPod"]);
    // Its spec was fixed (generation 2) and not yet decided on: it may start any moment, so it holds.
    const fixed = { ...broken, metadata: { ...broken.metadata, generation: 2 } };
    assert.equal(valid(passWith(next, [fixed]))?.reason, "StorageInUse");
    const waitingOlder = named("waiting", shared, "2026-12-01T00:00:00Z", {
      conditions: [{ type: "Valid", status: "False", reason: "StorageInUse", message: "m", lastTransitionTime: T0.toISOString() }],
    });
    assert.equal(valid(passWith(next, [waitingOlder]))?.reason, "StorageInUse");
  });

  it("the PVC a run's default claim name makes is the same location as a claimName naming it", () => {
    const a = named("a", {}, "2026-12-01T00:00:00Z");
    const b = named("b", { checkpoint: { claimName: "a-checkpoints" } }, "2026-12-01T00:00:05Z");
    assert.match(valid(passWith(b, [a]))?.message ?? "", /^spec\.checkpoint\.claimName: PersistentVolumeClaim a-checkpoints is used by TrainingRun a/);
    const c = named("c", { checkpoint: { claimName: "c-checkpoints" } }, "2026-12-01T00:00:00Z");
    const cDefault = named("c", {}, "2026-12-01T00:00:05Z");
    assert.equal(valid(passWith(cDefault, []))?.status, "True", "a run is never in its own way");
    assert.equal(valid(passWith(named("d", { checkpoint: { claimName: "c-checkpoints" } }, "2026-12-01T00:00:09Z"), [c]))?.reason, "StorageInUse");
  });

  it("runs of another namespace, other claims and other buckets are no obstacle", () => {
    const mine = named("mine", shared, "2026-12-01T00:00:05Z");
    const elsewhere = { ...named("other", shared, "2026-12-01T00:00:00Z"), metadata: { ...named("other", shared, "2026-12-01T00:00:00Z").metadata, namespace: "team-b" } };
    assert.equal(valid(passWith(mine, [elsewhere, named("x", { checkpoint: { claimName: "x" } }, "2026-12-01T00:00:00Z")]))?.status, "True");
    assert.equal(valid(passWith(named("s", s3("runs/a"), "2026-12-01T00:00:05Z"), [named("t", s3("runs/a", "other-bucket"), "2026-12-01T00:00:00Z")]))?.status, "True");
  });

  it("a bucket prefix: the same, or one containing the other, is one location; a sibling or a longer name is not", () => {
    const holder = named("holder", s3("runs/a"), "2026-12-01T00:00:00Z");
    const cases: [string, boolean][] = [["runs/a", true], ["runs/a/", true], ["runs/a/b", true], ["runs", true], ["runs//a", true], ["runs/ab", false], ["runs/b", false], ["run", false]];
    for (const [prefix, inUse] of cases) {
      const d = passWith(named("late", s3(prefix), "2026-12-01T00:00:05Z"), [holder]);
      assert.equal(valid(d)?.reason, inUse ? "StorageInUse" : "Valid", prefix);
      if (inUse) assert.match(valid(d)?.message ?? "", /^spec\.checkpoint\.storage\.s3\.prefix: s3:\/\/ckpt\/.* overlaps the bucket prefix of TrainingRun holder/);
    }
  });

  it("randomised: whatever the order of passes, two runs whose locations overlap never both start (seed printed)", () => {
    const seed = Number(process.env.STORAGE_SEED ?? Date.now() % 1_000_000);
    console.log(`storage-in-use property test: STORAGE_SEED=${seed}`);
    let state = seed;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const specs = [shared, { checkpoint: { claimName: "other" } }, {}, s3("a"), s3("a/b"), s3("a/c"), s3("b")];
    for (let round = 0; round < 50; round++) {
      let runs = Array.from({ length: 2 + next(6) }, (_, i) => named(`r${i}`, specs[next(specs.length)]!, `2026-12-01T00:00:0${next(3)}Z`));
      // Random passes, then every run twice more in turn: by then whoever is first in line started.
      const order = [...Array.from({ length: 30 }, () => next(runs.length)), ...runs.keys(), ...runs.keys()];
      for (const i of order) {
        const run = runs[i]!;
        const d = passWith(run, runs.filter((_, j) => j !== i));
        runs = runs.map((r, j) => (j === i ? afterWrite(run, d) : r));
        const started = runs.filter((r) => (r.status?.attempt ?? 0) > 0);
        for (const a of started) {
          for (const b of started) {
            if (a !== b) assert.ok(!overlaps(storageLocation(a)!, storageLocation(b)!), `seed ${seed}: ${a.metadata.name} and ${b.metadata.name} both started`);
          }
        }
      }
      const alone = runs.filter((r) => runs.every((o) => o === r || !overlaps(storageLocation(r)!, storageLocation(o)!)));
      assert.ok(runs.some((r) => (r.status?.attempt ?? 0) > 0), `seed ${seed}: nobody started`);
      for (const r of alone) assert.ok((r.status?.attempt ?? 0) > 0, `seed ${seed}: ${r.metadata.name} shares nothing and did not start`);
    }
  });

  it("the cache's location index finds exactly the overlapping runs (same, containing, inside)", () => {
    const locations = ["pvc/x", "pvc/y", "s3/b/a", "s3/b/a/b", "s3/b/a/b/c", "s3/b/ab", "s3/c/a"].map((l) => l.split("/"));
    for (const a of locations) {
      for (const b of locations) {
        const keysOfB = new Set(locationIndexKeys(storageLocation(asRun(b))));
        const found = overlapLookups(a).some((lookup) => keysOfB.has(lookup));
        assert.equal(found, overlaps(a, b), `${a.join("/")} vs ${b.join("/")}`);
      }
    }
  });
});

function asRun(location: string[]): TrainingRun {
  const [kind, first, ...rest] = location;
  return kind === "pvc" ? named("r", { checkpoint: { claimName: first } }, "2026-12-01T00:00:00Z") : named("r", s3(rest.join("/"), first), "2026-12-01T00:00:00Z");
}
