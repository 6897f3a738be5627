// The control plane is the real thing: built from the pinned modules,
// stamped with its version, serving RBAC'd requests, and gone without a
// trace when stopped.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startCluster } from "./cluster.js";
import { isAlive } from "./processes.js";
import { kubectl, eventually } from "../support/cluster.js";

const versions = readFileSync(new URL("./versions.env", import.meta.url), "utf8");
const kubernetesVersion = /KUBERNETES_VERSION=(\S+)/.exec(versions)?.[1];

test("control plane starts, reports its pinned version, and stops without leftovers", { timeout: 600_000 }, async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "resumable-cp-"));
  const cluster = await startCluster({ stateDir, withKubelet: false });
  try {
    const version = JSON.parse(await kubectl(cluster.kubeconfig, ["get", "--raw", "/version"])) as { gitVersion: string };
    assert.equal(version.gitVersion, kubernetesVersion);
    assert.equal((await kubectl(cluster.kubeconfig, ["get", "--raw", "/readyz"])).trim(), "ok");
    // The controller-manager runs: it creates every namespace's default service account.
    await eventually("default service account", async () =>
      (await kubectl(cluster.kubeconfig, ["get", "sa", "default", "-n", "default", "-o", "name"])).trim() || undefined);
    // RBAC is on: an unknown token is refused.
    const config = JSON.parse(readFileSync(cluster.kubeconfig, "utf8"));
    config.users[0].user.token = "not-a-token";
    const bad = join(stateDir, "bad.kubeconfig");
    (await import("node:fs")).writeFileSync(bad, JSON.stringify(config));
    await assert.rejects(kubectl(bad, ["get", "ns"]), /Unauthorized|provide credentials/);
  } finally {
    await cluster.stop();
  }
  for (const p of cluster.processes) assert.equal(isAlive(p.pid), false, `${p.name} (pid ${p.pid}) still running`);
  assert.equal(existsSync(stateDir), false);
});

test("a second cluster on the same state dir is refused with a clear error", { timeout: 600_000 }, async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "resumable-cp-"));
  const cluster = await startCluster({ stateDir, withKubelet: false });
  try {
    await assert.rejects(startCluster({ stateDir, withKubelet: false }), /already uses/);
  } finally {
    await cluster.stop();
  }
});
