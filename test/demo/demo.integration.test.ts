// `make demo`'s script end to end against a cluster given through KUBECONFIG
// (the path users with their own cluster take): the chart installed, the
// example run preempted through `resumable preempt`, resumed, Succeeded, and
// the summary table printed.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { useCluster } from "../support/cluster.js";
import { runProcess } from "../support/process.js";

// A cluster of its own, not the shared one: the demo installs the chart (cluster-wide objects) as a user would.
const c = useCluster();
const demo = fileURLToPath(new URL("../../examples/demo.ts", import.meta.url));

describe("make demo", { timeout: 20 * 60_000 }, () => {
  test("with KUBECONFIG set, runs the example through a preemption to Succeeded", async () => {
    const { code, stdout, stderr } = await runProcess(process.execPath, ["--import", "tsx", demo], {
      env: { ...process.env, KUBECONFIG: c.cluster.kubeconfig }, timeout: 15 * 60_000,
    });
    assert.equal(code, 0, `demo failed:\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
    assert.match(stdout, /Evicted pod mnist-spot-1 on /);
    assert.match(stdout, /attempt 1 preempted/);
    assert.match(stdout, /^phase\s+Succeeded$/m);
    assert.match(stdout, /^preemptions\s+1$/m);
    assert.match(stdout, /^lost steps\s+0$/m);
    assert.match(stdout, /^final accuracy \(training digits\)\s+\d+\.\d %$/m);
  });
});
