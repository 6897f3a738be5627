// @resumable/protocol itself: what both programs rely on, and what keeps each image free of
// the other's dependencies.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EXIT_CODES, disruptionOf, exitReason, parseExitSummary, parseProgress } from "@resumable/protocol";

const repo = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}
const importsOf = (file: string) => [...readFileSync(join(repo, file), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1] ?? "");

describe("protocol: dependencies", () => {
  it("depends on zod only", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "trainer/protocol/package.json"), "utf8")) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(pkg.dependencies), ["zod"]);
    for (const file of sources("trainer/protocol/src")) {
      for (const spec of importsOf(file)) assert.ok(spec === "zod" || spec.startsWith("./"), `${file} imports ${spec}`);
    }
  });

  it("the operator never imports the trainer, the trainer never imports client-node", () => {
    for (const file of sources("operator/src")) {
      for (const spec of importsOf(file)) assert.ok(!spec.includes("trainer/src") && spec !== "@resumable/trainer", `${file} imports ${spec}`);
    }
    for (const file of sources("trainer/src")) {
      for (const spec of importsOf(file)) assert.ok(!spec.startsWith("@kubernetes/") && !spec.includes("operator/"), `${file} imports ${spec}`);
    }
  });
});

describe("protocol: exit codes", () => {
  it("are the agreed ones, each meaning one thing", () => {
    assert.deepEqual(EXIT_CODES, { completed: 0, failed: 1, config: 2, fenced: 3, storage: 4, checkpointsUnusable: 5, diverged: 6, peerLost: 7, preempted: 143 });
    assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length);
    assert.equal(exitReason(5), "checkpointsUnusable");
    assert.equal(exitReason(7), "peerLost");
    assert.equal(exitReason(137), undefined);
  });
});

describe("protocol: reports", () => {
  it("progress: malformed JSON or a shape off the schema is no report at all", () => {
    assert.equal(parseProgress("{"), undefined);
    assert.equal(parseProgress(JSON.stringify({ step: -1 })), undefined);
    assert.deepEqual(parseProgress(JSON.stringify({ step: 5, resumedFromStep: null, checkpointFailure: null })), { step: 5, resumedFromStep: null, checkpointFailure: null });
  });

  it("summary: the whole message, else its last line; unknown fields kept; an unreadable failure dropped alone", () => {
    const line = JSON.stringify({ reason: "failed", step: 3, error: "E", failure: { kind: "later", message: "?" }, extra: 1 });
    const parsed = parseExitSummary(`log line\n${line}\n`);
    assert.equal(parsed?.step, 3);
    assert.equal(parsed?.failure, undefined);
    assert.equal((parsed as Record<string, unknown> | undefined)?.extra, 1);
    assert.equal(parseExitSummary("no summary here"), undefined);
  });
});

describe("protocol: the disruption rule", () => {
  const condition = (reason: string, at: string) => ({ type: "DisruptionTarget", status: "True", reason, lastTransitionTime: at });

  it("dates a disruption from its first mark: the condition, or the delete request minus the grace period", () => {
    const pod = {
      metadata: { deletionTimestamp: "2026-11-28T12:00:30Z", deletionGracePeriodSeconds: 25 },
      status: { conditions: [condition("EvictionByEvictionAPI", "2026-11-28T12:00:10Z")] },
    };
    assert.deepEqual(disruptionOf(pod), { signal: "EvictionByEvictionAPI", markedAt: Date.parse("2026-11-28T12:00:05Z") });
  });

  it("a pod reason alone is a disruption without a date; a running pod without signals is none", () => {
    assert.deepEqual(disruptionOf({ status: { reason: "Evicted" } }), { signal: "Evicted" });
    assert.equal(disruptionOf({ status: { conditions: [{ type: "Ready", status: "True" }] } }), undefined);
  });

  it("exit 0 completes even on a marked pod; a preempted summary with 143 is the trainer's own signal", () => {
    const marked = { status: { conditions: [condition("PreemptionByScheduler", "2026-11-28T12:00:10Z")] } };
    assert.equal(disruptionOf(marked, { code: 0, summary: { reason: "completed" } }), undefined);
    assert.equal(disruptionOf(marked, { code: 0, summary: { reason: "preempted" } })?.signal, "PreemptionByScheduler");
    assert.deepEqual(disruptionOf({}, { code: 143, summary: { reason: "preempted" } }), { signal: "TrainerPreempted" });
    assert.equal(disruptionOf({}, { code: 143 }), undefined, "143 without a summary saying so is a failure");
  });

  it("a pod the operator stopped for a planned move is planned, not a preemption, unless the node or cloud also marked it", () => {
    const planned = { requestedAt: Date.parse("2026-11-28T12:00:00Z") };
    const deleted = { metadata: { deletionTimestamp: "2026-11-28T12:00:26Z", deletionGracePeriodSeconds: 25 } };
    assert.deepEqual(disruptionOf(deleted, { code: 143, summary: { reason: "preempted" } }, planned), {
      signal: "PlannedMove",
      planned: true,
      markedAt: Date.parse("2026-11-28T12:00:01Z"),
    });
    assert.equal(disruptionOf(deleted, undefined, undefined)?.signal, "PodDeleted", "without the plan the same delete is a preemption");
    assert.deepEqual(disruptionOf({}, { code: 143, summary: { reason: "preempted" } }, planned), { signal: "PlannedMove", planned: true });
    const reclaimed = { ...deleted, status: { conditions: [condition("TerminationByKubelet", "2026-11-28T12:00:00Z")] } };
    assert.equal(disruptionOf(reclaimed, { code: 143, summary: { reason: "preempted" } }, planned)?.planned, undefined);
    assert.equal(disruptionOf({}, { code: 0, summary: { reason: "completed" } }, planned), undefined, "a run that completed first completed");
    assert.equal(disruptionOf({}, undefined, planned), undefined, "a running pod not yet deleted shows nothing yet");
  });
});
