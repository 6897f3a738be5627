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
});
