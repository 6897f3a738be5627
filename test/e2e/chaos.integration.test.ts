// The operator against a control plane that misbehaves: the apiserver and
// etcd crash and come back mid-run, the operator itself is SIGKILLed again
// and again during a fleet with evictions, and a leader dies with a follower
// waiting. Afterwards every run is exact: no attempt started twice, never two
// trainers of one run alive at once, counters equal to what was done to it,
// resumes proven from the trainers' own records, weights bit-identical.
// Random moments come from a printed seed: CHAOS_SEED=<n> replays them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { eventually } from "../support/cluster.js";
import { PROGRESS_ANNOTATION, parseProgress } from "@resumable/protocol";
import { Prng } from "../../trainer/src/data/prng.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertBitIdentical, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { recordPods, type PodRecorder } from "./pod-recorder.js";
import { SMALL_TRAINING, trainingRun } from "./runs.js";

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
// A cluster of its own, not the shared one: it crashes the cluster's own processes.
const e = useE2E();

async function evict(podName: string): Promise<void> {
  await e.core.createNamespacedPodEviction({
    name: podName, namespace: NAMESPACE,
    body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: podName, namespace: NAMESPACE } },
  });
}

/** One run through a crash of a control-plane process: it just goes on, as if nothing happened. */
async function survivesCrashOf(process: "kube-apiserver" | "etcd", name: string, recorder: PodRecorder): Promise<void> {
  await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(name)));
  await e.waitRun(name, "training", pastStep(60));
  await e.cluster.crashAndRestart(process, 3_000);
  const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 10 * 60_000);
  assert.equal(run.status?.attempt, 1, "no new attempt: a control-plane outage is not a disruption of the trainer");
  assert.equal(run.status?.preemptions ?? 0, 0);
  assert.equal(run.status?.failures ?? 0, 0);
  assert.deepEqual(recorder.violations(), []);
  await assertBitIdentical(run);
}

describe(`chaos (CHAOS_SEED=${SEED})`, { timeout: 2_400_000 }, () => {
  for (const [process, run] of [["kube-apiserver", "api-crash"], ["etcd", "etcd-crash"]] as const) {
    test(`${process === "etcd" ? "etcd" : "the apiserver"} crashes and restarts mid-run: the run completes untouched`, async () => {
      const recorder = await recordPods(e.cluster.kubeconfig);
      try {
        await survivesCrashOf(process, run, recorder);
      } finally {
        recorder.stop();
      }
    });
  }

  test("the operator SIGKILLed twenty times during a fleet with evictions: nothing doubled, every counter exact", async () => {
    const random = Prng.fromSeed(SEED);
    const names = ["chaos-0", "chaos-1", "chaos-2"];
    // Two seeds for three runs: two twins to train, not three.
    const runs = names.map((name, i) => trainingRun(name, { training: { ...SMALL_TRAINING, totalSteps: 1200, seed: i % 2 } }));
    const evictAt = names.map(() => 60 + random.nextBelow(400));
    const killGapsMs = Array.from({ length: 20 }, () => 500 + random.nextBelow(4_000));
    const recorder = await recordPods(e.cluster.kubeconfig);
    try {
      await e.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: runs }));
      const kills = (async () => {
        for (const gap of killGapsMs) {
          await sleep(gap);
          await e.stopOperators("SIGKILL");
          await e.startOperator();
        }
      })();
      // Each run is evicted once, at its seeded step, whatever the operator is doing then:
      // the step is read from the trainer's own report on its pod, since the operator that
      // would copy it into the run's status is down half the time.
      await Promise.all(names.map(async (name, i) => {
        const pod = `${name}-1`;
        await eventually(`${pod} past step ${evictAt[i]}`, async () => {
          const found = await e.core.readNamespacedPod({ name: pod, namespace: NAMESPACE }).catch(() => undefined);
          return (parseProgress(found?.metadata?.annotations?.[PROGRESS_ANNOTATION])?.step ?? 0) >= evictAt[i]! ? true : undefined;
        }, 15 * 60_000);
        await evict(pod);
      }));
      await kills;
      for (const name of names) {
        const run = await e.waitRun(name, "Succeeded", isPhase("Succeeded"), 15 * 60_000);
        assert.equal(run.status?.preemptions, 1, `${name}: the one eviction, counted once`);
        assert.equal(run.status?.failures ?? 0, 0, `${name}: no failures`);
        assert.equal(run.status?.attempt, 2, `${name}: exactly one new attempt`);
        assertResumeRecorded(e, run, { graceful: true });
        await assertBitIdentical(run);
      }
      assert.deepEqual(recorder.violations(), []);
      for (const name of names) {
        assert.deepEqual([...recorder.created().keys()].filter((p) => p.startsWith(`${name}-`)).sort(), [`${name}-1`, `${name}-2`]);
      }
    } finally {
      recorder.stop();
    }
  });

  test("two replicas: the leader SIGKILLed mid-run, the follower takes over and nothing is done twice", async () => {
    await e.stopOperators("SIGTERM");
    const first = await e.startOperator(["--leader-elect=true"]);
    const second = await e.startOperator(["--leader-elect=true"]);
    const kc = new KubeConfig();
    kc.loadFromFile(e.cluster.kubeconfig);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const lease = async () => (await coordination.listLeaseForAllNamespaces()).items.find((l) => l.metadata?.name?.includes("resumable"));
    const recorder = await recordPods(e.cluster.kubeconfig);
    try {
      // Long enough to outlast the lease handover (15 s): with 400 steps a fresh-clone CI run
      // saw the trainer complete before the eviction that the new leader was to handle. Long by
      // a pause between steps (at least 80 s), not by 4000 steps: those took 200 s with their
      // twin, most of it after the eviction; the pause ends with the first attempt (below).
      await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("failover", { training: { ...SMALL_TRAINING, totalSteps: 800, stepDelayMs: 100 } })));
      await e.waitRun("failover", "training", pastStep(60));
      const holder = (await lease())?.spec?.holderIdentity;
      assert.ok(holder, "a leader holds the lease");
      const leader = [first, second].find((p) => holder.endsWith(`_${p.pid}`));
      assert.ok(leader, `the holder ${holder} is one of the two replicas (${first.pid}, ${second.pid})`);
      leader.kill("SIGKILL");
      const taken = await eventually("the follower holds the lease", async () => {
        const l = await lease();
        return l?.spec?.holderIdentity && l.spec.holderIdentity !== holder ? l : undefined;
      }, 120_000);
      assert.ok((taken.spec?.leaseTransitions ?? 0) >= 1, "the lease changed hands");
      // The new leader must act: a preemption after the takeover is handled once. The next
      // attempt, rendered from the spec as it is now, trains the rest without the pause.
      await e.kubectl(["patch", "trainingrun", "failover", "--type=merge", "-p", JSON.stringify({ spec: { training: { stepDelayMs: 0 } } })]);
      await evict((await currentPod(e, "failover")).metadata!.name!);
      const run = await e.waitRun("failover", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
      assert.equal(run.status?.attempt, 2);
      assert.equal(run.status?.preemptions, 1);
      assertResumeRecorded(e, run, { graceful: true });
      assert.deepEqual(recorder.violations(), []);
      await assertBitIdentical(run);
    } finally {
      recorder.stop();
    }
  });
});
