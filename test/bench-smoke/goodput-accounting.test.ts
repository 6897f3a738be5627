// The goodput benchmark without a cluster: the seeded schedule and its mix of disruptions,
// what each disruption cost by the trainers' records, and the Jobs it compares resumable with.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EXIT_CODES } from "@resumable/protocol";
import { preemptionSchedule, type Disruption } from "../bench/_goodput-faults.js";
import type { GoodputResult } from "../bench/_goodput.js";
import { attemptsOf, summarise, type Attempt, type SystemResult } from "../bench/_goodput-records.js";
import { sharesTable, systemTable } from "../bench/_goodput-report.js";
import { jobFor } from "../bench/_goodput-systems.js";

test("a schedule without hard losses is the one its seed drew before they existed", () => {
  // docs/benchmarks.md's sweep, seed 2026, half reclaims, given up at 480 s: 12, 26 and 52 disruptions.
  const counts = [60, 20, 8].map((T) => preemptionSchedule(2026, T, 480, { reclaim: 0.5, hardLoss: 0 }).length);
  assert.deepEqual(counts, [12, 26, 52]);
});

test("a hard-loss share turns that share of the disruptions into hard losses, at the same instants", () => {
  const seed = 4242;
  console.log(`schedule seed ${seed}`);
  const without = preemptionSchedule(seed, 10, 20_000, { reclaim: 0.4, hardLoss: 0 });
  const mixed = preemptionSchedule(seed, 10, 20_000, { reclaim: 0.4, hardLoss: 0.2 });
  assert.deepEqual(mixed.map((d) => d.at), without.map((d) => d.at));
  const share = (kind: string) => mixed.filter((d) => d.kind === kind).length / mixed.length;
  assert.ok(Math.abs(share("hard-loss") - 0.2) < 0.03, `hard losses: ${share("hard-loss")}`);
  assert.ok(Math.abs(share("reclaim") - 0.4) < 0.03, `reclaims: ${share("reclaim")}`);
  // Only evictions became hard losses: every reclaim is where it was.
  mixed.forEach((d, i) => assert.equal(d.kind === "reclaim", without[i]!.kind === "reclaim"));
});

test("shares that are not fractions, or add up to more than 1, are refused by name", () => {
  assert.throws(() => preemptionSchedule(1, 10, 100, { reclaim: 0.7, hardLoss: 0.5 }), /the reclaim share \(0.7\) and the hard-loss share \(0.5\) add up to more than 1/);
  assert.throws(() => preemptionSchedule(1, 10, 100, { reclaim: 0.5, hardLoss: Number.NaN }), /the hardLoss share must be between 0 and 1, got NaN/);
  assert.throws(() => preemptionSchedule(1, 10, 100, { reclaim: -0.1, hardLoss: 0 }), /the reclaim share must be between 0 and 1, got -0.1/);
});

const attempt = (pod: string, at: number, resumedFrom: number, reached: number, saves: { started?: number[]; committed?: number[] } = {}): Attempt => ({
  pod, firstLineAt: at, lastLineAt: at + 5_000, ...(reached > resumedFrom && { firstStepAt: at + 1_000 }),
  resumedFrom, reached, savesStarted: saves.started ?? saves.committed ?? [], savesCommitted: saves.committed ?? [],
});
const hit = (pod: string, at: number, kind: Disruption["kind"]): Disruption => ({ pod, at, kind, node: "n" });
const run = { started: 0, ended: 100_000, totalSteps: 500, everySteps: 40 };

test("what each disruption cost: a flushed preemption nothing, a hard loss the steps since the newest commit", () => {
  const attempts = [
    attempt("a", 0, 0, 57, { committed: [40, 57] }), // evicted at 57, flushed its final checkpoint
    attempt("b", 10_000, 57, 130, { started: [97, 120], committed: [97] }), // lost while saving 120
    attempt("c", 20_000, 97, 97), // loading when its node was reclaimed: computed nothing
    attempt("d", 30_000, 97, 200, { committed: [137, 177] }), // lost with its save of 177 committed
    attempt("e", 40_000, 177, 180),
  ];
  const r = summarise("job-flush", attempts, run, [hit("a", 9_000, "evict"), hit("b", 19_000, "hard-loss"), hit("c", 25_000, "reclaim"), hit("d", 39_000, "hard-loss"), hit("e", 44_000, "hard-loss")]);
  const [evict, lostSaving, loading, lost, last] = r.disruptions;
  assert.deepEqual([evict!.lostSteps, evict!.uncommittedSteps, evict!.saveInFlight], [0, 0, false]);
  assert.deepEqual([lostSaving!.lostSteps, lostSaving!.uncommittedSteps, lostSaving!.saveInFlight], [33, 33, true]);
  assert.deepEqual([loading!.lostSteps, loading!.uncommittedSteps], [0, 0]);
  assert.deepEqual([lost!.lostSteps, lost!.uncommittedSteps, lost!.saveInFlight], [23, 23, false]);
  assert.equal(last!.lostSteps, undefined, "no pod computed after the last one: what it lost is not known");
  assert.equal(r.lostSteps, 33 + 23);
  assert.equal(r.stepsComputed, r.usefulSteps + r.lostSteps);
  assert.equal(evict!.recoverySeconds, 2, "from the disruption to the next pod's first step");
});

test("the Job with the flush runs the same trainer as the Job without it, only keeping its SIGTERM flush", () => {
  const training = { totalSteps: 10 };
  const env = (job: ReturnType<typeof jobFor>) => Object.fromEntries(job.spec.template.spec.containers[0]!.env.map((v) => [v.name, v.value]));
  const [flush, die] = [jobFor("job-flush", training), jobFor("job-ckpt", training)];
  assert.equal(env(flush).RESUMABLE_SIGTERM, "flush");
  assert.equal(env(die).RESUMABLE_SIGTERM, "die");
  assert.deepEqual({ ...env(flush), RESUMABLE_SIGTERM: "" }, { ...env(die), RESUMABLE_SIGTERM: "" });
  assert.equal(flush.spec.template.spec.containers[0]!.image, die.spec.template.spec.containers[0]!.image);
  assert.ok(flush.spec.template.spec.volumes[0]!.persistentVolumeClaim, "checkpoints on a volume claim, as the Job + ckpt's");
  // What a careful team writes: neither a disruption nor the trainer's preempted exit is a failure.
  assert.deepEqual(flush.spec.podFailurePolicy.rules.map((r) => r.action), ["Ignore", "Ignore"]);
  assert.deepEqual(flush.spec.podFailurePolicy.rules[0]!.onPodConditions, [{ type: "DisruptionTarget" }]);
  assert.deepEqual(flush.spec.podFailurePolicy.rules[1]!.onExitCodes?.values, [EXIT_CODES.preempted]);
});

test("attempts are read from the trainers' own log lines, with the checkpoints each began and committed", () => {
  const state = mkdtempSync(join(tmpdir(), "goodput-records-"));
  try {
    const write = (pod: string, lines: object[]) => {
      const dir = join(state, "kubelet", "logs", `default_${pod}_0b4c2a1e-0000-4000-8000-000000000000`, "trainer");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "0.log"), lines.map((l) => JSON.stringify(l)).join("\n"));
    };
    write("gp-job-flush-abcde", [
      { time: 1_000, msg: "starting" },
      ...[1, 2, 3].map((step) => ({ time: 1_000 + step, msg: "step", step })),
      { time: 1_010, msg: "checkpoint save started", step: 2 },
      { time: 1_011, msg: "checkpoint committed", step: 2 },
      { time: 1_012, msg: "checkpoint save started", step: 3 },
    ]);
    write("gp-job-ckpt-fghij", [{ time: 500, msg: "step", step: 1 }]);
    const [a, ...others] = attemptsOf(state, "gp-job-flush");
    assert.equal(others.length, 0, "another system's pods are not this one's attempts");
    assert.deepEqual([a!.pod, a!.resumedFrom, a!.reached, a!.savesStarted, a!.savesCommitted], ["gp-job-flush-abcde", 0, 3, [2, 3], [2]]);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test("the report splits the gain in two steps: the trainer's flush, then the operator", () => {
  const result = (system: SystemResult["system"], wallSeconds: number, lost: number): SystemResult => ({
    ...summarise(system, [attempt(`${system}-a`, 0, 0, 100), attempt(`${system}-b`, 10_000, 100 - lost, 500)], { ...run, totalSteps: 500 }, [hit(`${system}-a`, 5_000, "evict")]),
    wallSeconds,
  });
  const r: GoodputResult = { systems: [result("resumable", 100, 0), result("job-flush", 150, 0), result("job-ckpt", 200, 30)], twinSha256: "", schedule: [] };
  const lines = sharesTable(r)!.split("\n");
  assert.match(lines[1]!, /the trainer's flush: Job\+ckpt → Job\+flush +200 \(not done\) → 150 \(not done\) .* 30\.0 → 0\.0/);
  assert.match(lines[2]!, /the operator: Job\+flush → resumable +150 \(not done\) → 100 \(not done\) .* 0\.0 → 0\.0/);
  assert.match(systemTable(r), /job-flush +NO +150 /);
  assert.equal(sharesTable({ ...r, systems: r.systems.slice(0, 2) }), undefined, "no steps without the Job + ckpt to start from");
});
