// The `resumable` CLI against a real cluster: a rehearsed preemption is a
// preemption like any other, list and status show it, and the errors users
// hit most (no cluster, no such run, nothing to preempt) name the problem.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { runProcess, type RunResult } from "../support/process.js";
import { NAMESPACE, useE2E } from "./harness.js";
import { assertResumeRecorded, isPhase, pastStep } from "./expect.js";
import { trainingRun } from "./runs.js";

const e = useE2E({ sharedCluster: true });
const bin = fileURLToPath(new URL("../../operator/bin/resumable.js", import.meta.url));
/** Where npm links the workspace bins, kubectl-resumable among them. */
const npmBin = fileURLToPath(new URL("../../node_modules/.bin", import.meta.url));

function resumable(args: string[], kubeconfig = e.cluster.kubeconfig): Promise<RunResult> {
  return runProcess(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig } });
}

/** A loopback port that was free a moment ago and that nothing listens on now. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe("resumable CLI", { timeout: 1_200_000 }, () => {
  test("preempt rehearses a recovery; list and status show how it went", async () => {
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(trainingRun("rehearsed")));
    await e.waitRun("rehearsed", "training", pastStep(60));
    const preempted = await resumable(["preempt", "rehearsed"]);
    assert.equal(preempted.code, 0, preempted.stderr);
    assert.match(preempted.stdout, /Evicted pod rehearsed-1 on /);

    const run = await e.waitRun("rehearsed", "Succeeded", isPhase("Succeeded"));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.lostSteps, 0);
    assertResumeRecorded(e, run, { graceful: true });

    const listed = await resumable(["list"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+PHASE/m);
    assert.match(listed.stdout, /^rehearsed\s+Succeeded\s+400\/400\s+2\s+1\s+0\s+0\s+400 \(final\)/m);

    // As a kubectl plugin, found on PATH, told the kubeconfig by flag rather than KUBECONFIG.
    const plugin = await runProcess("kubectl", ["resumable", "list", "--kubeconfig", e.cluster.kubeconfig], {
      env: { ...process.env, KUBECONFIG: "", PATH: `${npmBin}:${process.env.PATH}` },
    });
    assert.equal(plugin.code, 0, plugin.stderr);
    assert.match(plugin.stdout, /^rehearsed\s+Succeeded\s+400\/400\s+2\s+1\s+0\s+0\s+400 \(final\)/m);

    const shown = await resumable(["status", "rehearsed"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /Phase:\s+Succeeded/);
    assert.match(shown.stdout, /^1\s+rehearsed-1\s.*Preempted/m);
    assert.match(shown.stdout, /^2\s+rehearsed-2\s/m);
  });

  test("errors name the problem and exit 1", async (t) => {
    const missing = await resumable(["status", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`TrainingRun ${NAMESPACE}/nope not found`));

    const idle = await resumable(["preempt", "rehearsed"]);
    assert.equal(idle.code, 1);
    assert.match(idle.stderr, /has no running pod to preempt/);

    const unknown = await resumable(["frobnicate"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);

    // A kubeconfig whose server nobody listens on: a missing cluster.
    const port = await closedPort();
    const dead = join(tmpdir(), `resumable-dead-${process.pid}.kubeconfig`);
    t.after(() => rmSync(dead, { force: true }));
    writeFileSync(dead, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "dead",
      clusters: [{ name: "dead", cluster: { server: `https://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } }],
      users: [{ name: "dead", user: { token: "x" } }],
      contexts: [{ name: "dead", context: { cluster: "dead", user: "dead" } }],
    }));
    const unreachable = await resumable(["list"], dead);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`cannot reach the cluster at https://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });
});
