// The operator's process as an installer meets it: bad flags and a missing
// cluster end it at once with one line naming the problem, not a stack trace.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { runProcess } from "../support/process.js";

const cli = fileURLToPath(new URL("../../operator/src/cli.ts", import.meta.url));
const operator = (args: string[], env: Record<string, string>) =>
  runProcess(process.execPath, ["--import", "tsx", cli, ...args], { env: { ...process.env, ...env } });

describe("resumable-operator process", () => {
  it("a bad flag exits 2 naming it", async () => {
    const r = await operator(["--workers=zero"], {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^resumable-operator: .*workers/m);
  });

  it("an unreadable kubeconfig exits 1 naming the file", async () => {
    const r = await operator(["--leader-elect=false"], { KUBECONFIG: "/nonexistent/kubeconfig" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /cannot load a kubeconfig \(KUBECONFIG=\/nonexistent\/kubeconfig\): ENOENT/);
  });
});
