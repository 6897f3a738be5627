// The `resumable` CLI as a user (or kubectl, running it as a plugin) meets it
// without a cluster: bad flags, a kubeconfig that is not there, a context
// that is not in it — one line naming the problem and exit 1.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { describe as describeRun } from "../../operator/src/ctl/status.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { runProcess } from "../support/process.js";

const main = fileURLToPath(new URL("../../operator/src/ctl/main.ts", import.meta.url));
const resumable = (args: string[]) => runProcess(process.execPath, ["--import", "tsx", main, ...args], { env: { ...process.env, KUBECONFIG: "" } });

const dir = mkdtempSync(join(tmpdir(), "resumable-ctl-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("resumable CLI process", () => {
  it("--kubeconfig that is not there exits 1 naming the file", async () => {
    const r = await resumable(["list", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^resumable: cannot load a kubeconfig \(\/nonexistent\/kubeconfig\): ENOENT/);
  });

  it("--context that the kubeconfig lacks exits 1 naming the ones it has", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "lab",
      clusters: [{ name: "lab", cluster: { server: "https://127.0.0.1:1" } }],
      users: [{ name: "lab", user: { token: "x" } }],
      contexts: [{ name: "lab", context: { cluster: "lab", user: "lab" } }],
    }));
    const r = await resumable(["status", "run", "--kubeconfig", kubeconfig, "--context", "prod"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^resumable: no context "prod" in the kubeconfig \(it has: lab\)/);
  });

  it("a command without its run, or an unknown flag, exits 1 with the usage", async () => {
    const r = await resumable(["preempt"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /preempt needs a run name/);
    assert.match(r.stderr, /--context NAME/);
    const flag = await resumable(["list", "--frobnicate"]);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /--frobnicate/);
  });
});

describe("resumable status", () => {
  it("never shows negative lost steps: a resume past the predecessor's last report lost nothing", () => {
    const run: TrainingRun = {
      apiVersion: "resumable.dev/v1alpha1",
      kind: "TrainingRun",
      metadata: { name: "r", namespace: "default" },
      spec: {},
      status: {
        attempt: 2,
        attempts: [
          { attempt: 1, pod: "r-1", reachedStep: 90, endReason: "Preempted", endTime: "2026-01-01T00:01:00Z", startTime: "2026-01-01T00:00:00Z" },
          { attempt: 2, pod: "r-2", resumedFromStep: 100, startTime: "2026-01-01T00:01:02Z" },
        ],
      },
    } as TrainingRun;
    const row = describeRun(run).split("\n").find((l) => l.startsWith("2 "));
    assert.match(row ?? "", /\s100\s+-\s+0\s+2\.0s$/);
  });

  it("shows where each attempt ran and why it moved, the run's capacity, GPU time and cost", () => {
    const run = {
      apiVersion: "resumable.dev/v1alpha1",
      kind: "TrainingRun",
      metadata: { name: "r", namespace: "default" },
      spec: {},
      status: {
        attempt: 3,
        capacity: { type: "spot", reason: "ReturnToSpot", since: "2026-01-01T00:03:00Z", moves: 2 },
        accounting: {
          spotGpuSeconds: 60, onDemandGpuSeconds: 120, lostGpuSeconds: 2, spotSeconds: 60, spotPreemptions: 1,
          preemptionsPerSpotHour: 60, spotCost: 0.001, onDemandCost: 0.1, estimatedCost: 0.101, allOnDemandCost: 0.15, saving: 0.049, currency: "USD",
        },
        attempts: [
          { attempt: 1, pod: "r-1", capacityType: "spot", capacityReason: "Spec", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-01T00:01:00Z", endReason: "Preempted" },
          { attempt: 2, pod: "r-2", capacityType: "on-demand", capacityReason: "AfterPreemptions", startTime: "2026-01-01T00:01:02Z", endTime: "2026-01-01T00:03:02Z", endReason: "Moved", endDetail: "ReturnToSpot" },
          { attempt: 3, pod: "r-3", capacityType: "spot", capacityReason: "ReturnToSpot", startTime: "2026-01-01T00:03:05Z", endTime: "2026-01-01T00:04:05Z", endReason: "Succeeded" },
        ],
      },
    } as TrainingRun;
    const text = describeRun(run);
    assert.match(text, /^Capacity: +spot since 2026-01-01T00:03:00Z \(ReturnToSpot\), moves 2$/m);
    assert.match(text, /^GPU time: +spot 60s, on-demand 2m0s, lost 2\.0s, 60\.00 preemptions\/spot hour$/m);
    assert.match(text, /^Cost: +0\.1010 USD .*all on-demand 0\.1500 USD, saving 0\.0490 USD/m);
    const rows = text.split("\n").filter((l) => /^[123] /.test(l));
    assert.match(rows[0] ?? "", /\sspot\s/);
    assert.match(rows[1] ?? "", /\son-demand \(AfterPreemptions\)\s.*Moved \(ReturnToSpot\)/);
    assert.match(rows[2] ?? "", /\sspot \(ReturnToSpot\)\s/);
  });

  it("lists the newest attempt's ranks, and which rank's node a gang's preemption came from", () => {
    const ranks = (attempt: number) => [0, 1].map((rank) => ({ rank, pod: `r-${attempt}-${rank}`, node: `spot-${attempt}${rank}` }));
    const run = {
      apiVersion: "resumable.dev/v1alpha1",
      kind: "TrainingRun",
      metadata: { name: "r", namespace: "default" },
      spec: { workers: 2 },
      status: {
        attempt: 2,
        attempts: [
          { attempt: 1, pod: "r-1-0", ranks: ranks(1), disruptedRank: 1, endReason: "Preempted", endDetail: "EvictionByEvictionAPI", endTime: "2026-01-01T00:01:00Z" },
          { attempt: 2, pod: "r-2-0", ranks: ranks(2) },
        ],
      },
    } as TrainingRun;
    const text = describeRun(run);
    assert.match(text.split("\n").find((l) => l.startsWith("1 ")) ?? "", /Preempted \(EvictionByEvictionAPI\), rank 1 on spot-11/);
    const listed = text.slice(text.indexOf("Ranks of attempt 2:")).split("\n").slice(1);
    assert.match(listed[0] ?? "", /^RANK\s+POD\s+NODE$/);
    assert.match(listed[1] ?? "", /^0\s+r-2-0\s+spot-20$/);
    assert.match(listed[2] ?? "", /^1\s+r-2-1\s+spot-21$/);
  });
});
