// Gangs on the local cluster: a run of three workers (ranks) that train data-parallel and
// checkpoint, stop and restart as one. The resume is proven from every rank's own records
// (their pod logs), the weights against an uninterrupted gang of the same size. Then the
// PyTorch DDP example (examples/pytorch/, the resumable/pytorch-example image) under the
// operator, alone and as a gang of two whose rank 1 is evicted.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventually } from "../support/cluster.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertResumedFromNewestSave, assertResumeRecorded, currentPod, isPhase, pastStep } from "./expect.js";
import { trainingRun, SMALL_TRAINING } from "./runs.js";
import { gangAttempts, type RankRecords } from "./trainer-records.js";
import { torchMissing } from "../examples/torch.js";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import { twinWeightsSha256 } from "./twin.js";
import { holdGangPort } from "./gang-port.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";

// A cluster of its own, not the shared one: it loses a node, and a rank is unplaceable only while the GPUs are exactly the default nodes'.
const e = useE2E();
const WORKERS = 3;
const gangRun = (name: string, spec: Record<string, unknown> = {}) => trainingRun(name, { workers: WORKERS, ...spec });

/** Every rank of every attempt, as the trainers logged it; the last attempt completed on all ranks. */
function assertGangRecords(run: TrainingRun): RankRecords[][] {
  const name = run.metadata.name!;
  const attempts = gangAttempts(e, name);
  const described = attempts.map((ranks) => ranks.map((r) => `${r.attempt}/${r.rank}: ${r.resumedFromStep}->${r.reachedStep} ${r.summary?.reason ?? "killed"}`).join(", ")).join("; ");
  assert.ok(attempts.length >= 2, `${name}: two attempts in the trainers' records (${described})`);
  for (const ranks of attempts) {
    assert.deepEqual(ranks.map((r) => r.rank), [0, 1, 2], `${name}: every rank of attempt ${ranks[0]!.attempt} ran (${described})`);
    // One gang: every rank of an attempt started where rank 0 did.
    for (const r of ranks) assert.equal(r.resumedFromStep, ranks[0]!.resumedFromStep, `${name}: ranks of attempt ${r.attempt} resumed together (${described})`);
  }
  assert.equal(attempts[0]![0]!.resumedFromStep, 0, `${name}: the first attempt starts fresh (${described})`);
  for (const r of attempts.at(-1)!) assert.equal(r.summary?.reason, "completed", `${name}: rank ${r.rank} of the last attempt completed (${described})`);
  for (const ranks of attempts.slice(1)) {
    const recorded = run.status?.attempts?.find((a) => a.attempt === ranks[0]!.attempt);
    if (recorded) assert.equal(recorded.resumedFromStep, ranks[0]!.resumedFromStep, `${name}: status.attempts[].resumedFromStep of attempt ${ranks[0]!.attempt}`);
  }
  return attempts;
}

async function assertGangBitIdentical(run: TrainingRun): Promise<void> {
  assert.equal(run.status?.phase, "Succeeded");
  const want = await twinWeightsSha256(run.spec.training as Record<string, unknown>, WORKERS);
  assert.equal(run.status?.result?.weightsSha256, want, "weights differ from the uninterrupted gang of 3");
}

const podOf = (run: string, attempt: number, rank: number) => e.core.readNamespacedPod({ name: `${run}-${attempt}-${rank}`, namespace: NAMESPACE });

describe("gangs", { timeout: 1_800_000 }, () => {
  test("one rank of a gang of 3 evicted mid-run: every rank resumes where the gang stopped, 0 lost, bit-identical to an uninterrupted gang", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(gangRun("gang-evicted")));
    await e.waitRun("gang-evicted", "training", pastStep(100), 10 * 60_000);
    const victim = await podOf("gang-evicted", 1, 2);
    await e.core.createNamespacedPodEviction({
      name: victim.metadata!.name!, namespace: NAMESPACE,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: victim.metadata!.name!, namespace: NAMESPACE } },
    });
    const run = await e.waitRun("gang-evicted", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps ?? 0, 0);
    assert.equal(run.status?.attempts?.[0]?.disruptedRank, 2, "the first attempt names the evicted rank");
    const [first, second] = assertGangRecords(run);
    // The agreement: every rank of the first attempt stopped after the same step, and the
    // second attempt began exactly there.
    for (const r of first!) assert.equal(r.reachedStep, first![0]!.reachedStep, `rank ${r.rank} stopped with the gang`);
    assert.ok(second![0]!.resumedFromStep > 100, "resumed past where the eviction came, not from 0");
    assert.equal(second![0]!.resumedFromStep, first![0]!.reachedStep, "0 lost steps by the trainers' own records");
    await assertGangBitIdentical(run);
  });

  test("a hard loss of one rank's node: the survivors stop at once and the gang resumes from its newest committed checkpoint", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(gangRun("gang-lost")));
    await e.waitRun("gang-lost", "training", pastStep(120), 10 * 60_000);
    const node = (await podOf("gang-lost", 1, 1)).spec!.nodeName!;
    await e.kubectl(["annotate", "node", node, "resumable.dev/fault=hard-loss"]);
    const run = await e.waitRun("gang-lost", "Succeeded", isPhase("Succeeded"), 10 * 60_000);
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const [first, second] = assertGangRecords(run);
    // Rank 0 alone commits: its log says which checkpoints the gang committed.
    assertResumedFromNewestSave(first![0]!, second![0]!);
    await assertGangBitIdentical(run);
  });

  test("a rank that cannot be placed: the gang is torn down within its bound and an event names the rank and the scheduler's reason", async () => {
    // Two spot nodes with one GPU each: ranks 0-2 each ask for one, so one rank stays Pending.
    const name = "gang-unplaceable";
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(gangRun(name, {
      resources: { limits: { "nvidia.com/gpu": 1 } },
      scheduling: { spot: true, gangTimeoutSeconds: 15 },
      training: { ...SMALL_TRAINING, totalSteps: 100 },
    })));
    const event = await eventually(`a GangUnschedulable event for ${name}`, async () => {
      const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name},reason=GangUnschedulable` });
      return events.items[0];
    }, 3 * 60_000);
    assert.match(event.message ?? "", /rank \d/, "the event names the rank not placed");
    assert.match(event.message ?? "", /Insufficient nvidia\.com\/gpu/, "and the scheduler's reason");
    // Torn down: no pod of the first attempt holds a GPU any more.
    await eventually("the first attempt's pods gone", async () => {
      const pods = await e.runPods(name);
      return pods.every((p) => !p.metadata?.name?.startsWith(`${name}-1-`) || p.metadata.deletionTimestamp) ? true : undefined;
    }, 60_000);
    const run = await e.getRun(name);
    assert.equal(run.status?.failures ?? 0, 0, "not placing a gang is not a failure");
    assert.equal(run.status?.preemptions ?? 0, 0, "nor a preemption");
    await e.kubectl(["delete", "trainingrun", name, "--wait=true"]);
  });
});

const IMAGE = "resumable/pytorch-example:dev";
const TOTAL_STEPS = 300;
const TRAINING = { totalSteps: TOTAL_STEPS, batchSize: 32, seed: 7, stepDelayMs: 50, checkpoint: { everySteps: 100, keep: 3 } };

async function evict(pod: string): Promise<void> {
  await e.core.createNamespacedPodEviction({
    name: pod, namespace: NAMESPACE,
    body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NAMESPACE } },
  });
}

// In this file, not one of its own: torch's rendezvous on rank 0 listens on every address at
// MASTER_PORT, so beside a reference-trainer gang (on this one host, where pods share the
// network) one of the two could not listen. Here the gangs take turns; another file's gang
// waits for the machine's gang port (gang-port.ts).
describe("the PyTorch example under the operator", { skip: torchMissing(), timeout: 1_200_000 }, () => {
  test("one PyTorch worker evicted mid-run: a preemption, resumed where it stopped, 0 lost steps", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("pt-one", { image: IMAGE, training: TRAINING })));
    await e.waitRun("pt-one", "training", pastStep(60));
    await evict((await currentPod(e, "pt-one")).metadata!.name!);
    const run = await e.waitRun("pt-one", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    const [first, second] = assertResumeRecorded(e, run, { graceful: true });
    assert.equal(first!.summary?.reason, "preempted");
    assert.equal(second!.summary?.resumedFromStep, first!.summary?.step, "resumed from the step the trainer stopped at");
    assert.equal(run.status?.result?.weightsSha256, second!.summary?.weightsSha256);
  });

  test("a gang of 2 PyTorch workers: rank 1 evicted mid-run, resumed from the step both stopped at, 0 lost steps", async () => {
    const RUN = "pt-gang";
    const spec = { image: IMAGE, workers: 2, training: TRAINING } as Partial<TrainingRunSpecInput>;
    // A gang's rendezvous: held for its life (a single worker forms none).
    const releaseGangPort = await holdGangPort();
    let run: TrainingRun;
    try {
      await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun(RUN, spec)));
      await e.waitRun(RUN, "training", pastStep(60));
      await evict(`${RUN}-${(await e.getRun(RUN)).status?.attempt}-1`);
      run = await e.waitRun(RUN, "Succeeded", isPhase("Succeeded"));
    } finally {
      releaseGangPort();
    }
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0);

    const records = gangAttempts(e, RUN).flat();
    const of = (attempt: number) => records.filter((r) => r.attempt === attempt);
    const [first, second] = [of(1), of(2)];
    const described = records.map((r) => `attempt ${r.attempt} rank ${r.rank}: ${r.resumedFromStep}->${r.reachedStep} ${r.summary?.reason ?? "killed"}`).join("; ");
    assert.equal(first.length, 2, `both ranks of attempt 1 in the records (${described})`);
    assert.equal(second.length, 2, `both ranks of attempt 2 in the records (${described})`);
    const stopStep = first[0]!.summary?.step;
    for (const r of first) {
      assert.equal(r.summary?.reason, "preempted", `attempt 1 rank ${r.rank} stopped with a final flush (${described})`);
      assert.equal(r.summary?.step, stopStep, `both ranks stopped at the same step (${described})`);
    }
    assert.equal((first[0]!.summary?.checkpoint as { step?: number } | null)?.step, stopStep, "rank 0 committed at that step");
    for (const r of second) {
      assert.equal(r.resumedFromStep, stopStep, `attempt 2 rank ${r.rank} began where the gang stopped (${described})`);
      assert.equal(r.summary?.resumedFromStep, stopStep);
      assert.equal(r.summary?.reason, "completed");
      assert.equal(r.reachedStep, TOTAL_STEPS);
    }
    const lost = Math.max(...first.map((r) => r.reachedStep)) - Math.min(...second.map((r) => r.resumedFromStep));
    assert.equal(lost, 0, `no step computed twice (${described})`);
    assert.equal(second[0]!.summary?.weightsSha256, second[1]!.summary?.weightsSha256, "the ranks end with the same weights");
    assert.equal(run.status?.result?.weightsSha256, second[0]!.summary?.weightsSha256);
  });
});
