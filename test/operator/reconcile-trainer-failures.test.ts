// What the operator makes of the trainer protocol's failure exits, the failure message in
// its summary, and checkpointFailure in its progress (docs/trainer-protocol.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXIT_CODES, type ExitSummary, type ProgressReport } from "@resumable/protocol";
import type { Decision } from "../../operator/src/model/types.js";
import { FakeClock, T0, aPod, aRun, afterWrite, eventReasons, pass, running, startedStatus } from "./reconcile-fixtures.js";

const failedWith = (exitCode: number, failure?: ExitSummary["failure"]) =>
  aPod(1, {
    phase: "Failed",
    node: "spot-1",
    exitCode,
    summary: { reason: "failed", step: 120, resumedFromStep: null, ...(failure ? { error: failure.message, failure } : {}) },
  });
const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);

describe("reconcile: the trainer's failure exits", () => {
  it("exit 4 (checkpoint storage I/O) is a StorageError failure that is retried, in the trainer's words", () => {
    const message = "cannot read /checkpoints/ckpt-00000300/model.safetensors: EACCES: permission denied";
    const d = pass(aRun({}, startedStatus(1)), [failedWith(EXIT_CODES.storage, { kind: "storage", message, path: "/checkpoints/ckpt-00000300", code: "EACCES" })], T0);
    assert.equal(d.status.attempts?.[0]?.endDetail, "StorageError");
    assert.equal(d.status.failures, 1);
    assert.notEqual(d.status.phase, "Failed", "retried within maxRetries");
    assert.ok(d.status.nextAttemptAt, "after the failure backoff");
    const retry = d.events.find((e) => e.reason === "RetryingAfterFailure");
    assert.ok(retry?.message.includes(message), retry?.message);
  });

  it("exit 5 (checkpoints exist, none loads) fails the run at once with CheckpointsUnusable and the trainer's message", () => {
    const message = "3 checkpoints in /checkpoints and none loads: ckpt-00000300: manifest digest mismatch; …";
    const d = pass(aRun({}, startedStatus(1)), [failedWith(EXIT_CODES.checkpointsUnusable, { kind: "checkpointsUnusable", message })], T0);
    assert.equal(d.status.phase, "Failed");
    assert.equal(d.status.failures, 1, "counts a failure");
    assert.equal(d.status.attempts?.[0]?.endDetail, "CheckpointsUnusable");
    assert.deepEqual(
      { status: condition(d, "CheckpointsUnusable")?.status, message: condition(d, "CheckpointsUnusable")?.message },
      { status: "True", message },
    );
    const failed = condition(d, "Failed");
    assert.equal(failed?.reason, "CheckpointsUnusable");
    assert.ok(failed?.message.includes(message), failed?.message);
    assert.match(failed?.message ?? "", /allowFreshStart/);
    assert.deepEqual(d.actions, [], "no new attempt");
  });

  it("exit 6 (loss not finite) is a Diverged failure", () => {
    const message = "loss is NaN at step 121; nothing non-finite was committed";
    const d = pass(aRun({}, startedStatus(1)), [failedWith(EXIT_CODES.diverged, { kind: "diverged", message })], T0);
    assert.equal(d.status.attempts?.[0]?.endDetail, "Diverged");
    assert.equal(d.status.failures, 1);
    assert.ok(d.events.some((e) => e.reason === "RetryingAfterFailure" && e.message.includes(message)));
  });

  it("exit 2: the Failed condition quotes the trainer's config error instead of pointing at the log", () => {
    const message = 'RESUMABLE_CONFIG: invalid config:\n  model: Invalid option: expected one of "mlp"|"cnn"';
    const d = pass(aRun({ image: "example.com/my-trainer:1" }, startedStatus(1)), [failedWith(EXIT_CODES.config, { kind: "config", message })], T0);
    const failed = condition(d, "Failed");
    assert.equal(failed?.reason, "InvalidConfig");
    assert.ok(failed?.message.includes(message), failed?.message);
    assert.doesNotMatch(failed?.message ?? "", /see the pod's log/);
  });

  it("exit 2 with failure kind storageRefused fails the run at once as StorageRefused naming spec.checkpoint.storage, not InvalidConfig", () => {
    const message =
      "StorageRefusedError: checkpoint storage s3://ckpt/runs/r1: list s3://ckpt/runs/r1/fence: the storage server refused the credentials (server said: InvalidAccessKeyId, HTTP 403)";
    const failure = { kind: "storageRefused" as const, message, path: "s3://ckpt/runs/r1/fence", code: "InvalidAccessKeyId" };
    const d = pass(aRun({}, startedStatus(1)), [failedWith(EXIT_CODES.config, failure)], T0);
    assert.equal(d.status.phase, "Failed");
    assert.equal(d.status.attempts?.[0]?.endDetail, "StorageRefused");
    const failed = condition(d, "Failed");
    assert.equal(failed?.reason, "StorageRefused");
    assert.ok(failed?.message.includes(message), failed?.message);
    assert.match(failed?.message ?? "", /spec\.checkpoint\.storage/);
    assert.doesNotMatch(failed?.message ?? "", /spec\.training/);
    assert.deepEqual(d.actions, [], "no new attempt");
  });

  it("exit 2 with failure kind locationOwned fails the run at once as StorageInUse quoting the owner, not InvalidConfig", () => {
    const message = "LocationOwnedError: checkpoint location /checkpoints belongs to run team-a/original (uid 1111): refusing to claim it";
    const d = pass(aRun({}, startedStatus(1)), [failedWith(EXIT_CODES.config, { kind: "locationOwned" as const, message })], T0);
    assert.equal(d.status.phase, "Failed");
    assert.equal(d.status.attempts?.[0]?.endDetail, "StorageInUse");
    const failed = condition(d, "Failed");
    assert.equal(failed?.reason, "StorageInUse");
    assert.ok(failed?.message.includes("team-a/original"), failed?.message);
    assert.match(failed?.message ?? "", /spec\.checkpoint\.storage/);
    assert.deepEqual(d.actions, [], "no new attempt");
  });

  it("an older trainer's summary with only `error` is quoted too", () => {
    const pod = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 1, summary: { reason: "failed", step: 3, error: "RangeError: offset out of bounds" } });
    const d = pass(aRun({}, startedStatus(1)), [pod], T0);
    assert.ok(d.events.some((e) => e.reason === "RetryingAfterFailure" && e.message.includes("RangeError: offset out of bounds")));
  });

  it("a trainer that writes no summary has its termination message quoted", () => {
    const pod = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 2 });
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.ok(terminated);
    terminated.message = "config.yaml: lr must be positive\n";
    const failed = condition(pass(aRun({ image: "example.com/my-trainer:1" }, startedStatus(1)), [pod], T0), "Failed");
    assert.ok(failed?.message.includes("config.yaml: lr must be positive"), failed?.message);
  });

  it("a summary whose failure this operator cannot read still counts, with its error", () => {
    const pod = aPod(1, { phase: "Failed", node: "spot-1", exitCode: 1, summary: { reason: "failed", step: 40, error: "Error: x", failure: { kind: "someNewKind" } } });
    const d = pass(aRun({}, startedStatus(1)), [pod], T0);
    assert.equal(d.status.attempts?.[0]?.reachedStep, 40);
    assert.ok(d.events.some((e) => e.message.includes("Error: x")));
  });
});

describe("reconcile: CheckpointFailing from progress.checkpointFailure", () => {
  const report = (step: number, checkpointFailure: ProgressReport["checkpointFailure"]): ProgressReport => ({
    step,
    totalSteps: 600,
    epoch: 0,
    loss: 0.3,
    resumedFromStep: null,
    checkpoint: { step: 200, time: "2026-11-28T11:59:00.000Z", bytes: 1000, reason: "periodic" },
    checkpointFailure,
  });
  const enospc = (failures: number) => ({ since: "2026-11-28T12:00:00.000Z", failures, message: "ENOSPC: no space left on device, write" });

  it("is set with one Warning event per streak, follows the count, and clears when a save succeeds", () => {
    const clock = new FakeClock();
    let run = aRun({}, startedStatus(1));
    const step = (progress: ProgressReport) => {
      const d = pass(run, [running(1, { progress: { ...progress } })], clock.advance(5));
      run = afterWrite(run, d);
      return d;
    };
    const healthy = step(report(210, null));
    assert.equal(condition(healthy, "CheckpointFailing"), undefined, "a run whose saves never failed has no such condition");

    const first = step(report(300, enospc(1)));
    assert.equal(condition(first, "CheckpointFailing")?.status, "True");
    assert.equal(condition(first, "CheckpointFailing")?.reason, "SaveFailing");
    assert.match(condition(first, "CheckpointFailing")?.message ?? "", /1 checkpoint save failed since .*ENOSPC/);
    assert.deepEqual(
      first.events.filter((e) => e.reason === "CheckpointFailing").map((e) => e.type),
      ["Warning"],
    );

    const second = step(report(400, enospc(2)));
    assert.match(condition(second, "CheckpointFailing")?.message ?? "", /2 checkpoint saves in a row failed/);
    assert.deepEqual(eventReasons(second), [], "no second event while the streak goes on");

    const cleared = step(report(500, null));
    assert.equal(condition(cleared, "CheckpointFailing")?.status, "False");
    assert.deepEqual(eventReasons(cleared), ["CheckpointSaved"]);
    assert.deepEqual(eventReasons(step(report(510, null))), [], "cleared once");
  });

  it("a trainer that does not report checkpointFailure leaves the condition alone", () => {
    const { checkpointFailure: _, ...older } = report(300, null);
    const d = pass(aRun({}, startedStatus(1)), [running(1, { progress: older })], T0);
    assert.equal(condition(d, "CheckpointFailing"), undefined);
  });
});

describe("reconcile: spec.checkpoint.allowFreshStart", () => {
  const envOf = (d: Decision) => {
    const create = d.actions.find((a) => a.kind === "createPod");
    assert.ok(create && create.kind === "createPod");
    return create.pod.spec?.containers[0]?.env ?? [];
  };

  it("sets RESUMABLE_ALLOW_FRESH_START=true on the trainer only when the run allows it", () => {
    const allowed = envOf(pass(aRun({ checkpoint: { allowFreshStart: true } }), [], T0));
    assert.deepEqual(allowed.find((e) => e.name === "RESUMABLE_ALLOW_FRESH_START"), { name: "RESUMABLE_ALLOW_FRESH_START", value: "true" });
    const refused = envOf(pass(aRun(), [], T0));
    assert.equal(refused.find((e) => e.name === "RESUMABLE_ALLOW_FRESH_START"), undefined);
  });
});
