import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerStatus, PodSpec } from "../api/types.js";
import { getPhase } from "./phase.js";

const cs = (name: string, state: ContainerStatus["state"], lastState: ContainerStatus["lastState"] = {}): ContainerStatus => ({
  name,
  image: "busybox",
  imageID: "",
  state,
  lastState,
  ready: !!state.running,
  started: !!state.running,
  restartCount: 0,
});
const spec = (restartPolicy: PodSpec["restartPolicy"], init = false): PodSpec => ({
  restartPolicy,
  containers: [{ name: "main" }],
  ...(init ? { initContainers: [{ name: "init" }] } : {}),
});
const exited = (exitCode: number) => ({ terminated: { exitCode } });

describe("getPhase", () => {
  it("is Pending while a container waits to be created", () => {
    assert.equal(getPhase(spec("Never"), [cs("main", { waiting: { reason: "ContainerCreating" } })], false), "Pending");
    assert.equal(getPhase(spec("Never"), [], false), "Pending");
  });

  it("is Running while a container runs", () => {
    assert.equal(getPhase(spec("Never"), [cs("main", { running: { startedAt: "t" } })], false), "Running");
  });

  it("follows restartPolicy when every container has exited", () => {
    assert.equal(getPhase(spec("Never"), [cs("main", exited(0))], false), "Succeeded");
    assert.equal(getPhase(spec("Never"), [cs("main", exited(143))], false), "Failed");
    assert.equal(getPhase(spec("OnFailure"), [cs("main", exited(1))], false), "Running");
    assert.equal(getPhase(spec("OnFailure"), [cs("main", exited(0))], false), "Succeeded");
    assert.equal(getPhase(spec("Always"), [cs("main", exited(0))], false), "Running");
  });

  it("counts a container in crash back-off as stopped, not waiting", () => {
    const backoff = cs("main", { waiting: { reason: "CrashLoopBackOff" } }, exited(1));
    assert.equal(getPhase(spec("Always"), [backoff], false), "Running");
  });

  it("makes a terminal pod Succeeded or Failed whatever the policy", () => {
    assert.equal(getPhase(spec("Always"), [cs("main", exited(0))], true), "Succeeded");
    assert.equal(getPhase(spec("Always"), [cs("main", exited(137))], true), "Failed");
  });

  it("fails a Never pod whose init container failed, and keeps others Pending", () => {
    const statuses = [cs("init", exited(1)), cs("main", { waiting: { reason: "PodInitializing" } })];
    assert.equal(getPhase(spec("Never", true), statuses, false), "Failed");
    const retrying = [cs("init", { waiting: { reason: "CrashLoopBackOff" } }, exited(1)), cs("main", { waiting: {} })];
    assert.equal(getPhase(spec("OnFailure", true), retrying, false), "Pending");
  });
});
