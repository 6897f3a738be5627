// Test helper: a real local cluster for an integration test file. Each file
// starts its own (about ten seconds with warm binaries) in a temp dir and
// stops it in `after`, whatever the test's outcome, so tests that break
// nodes never affect each other and nothing is left running.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startCluster, type Cluster, type ClusterOptions } from "../cluster/cluster.js";

const execFileAsync = promisify(execFile);

/** Names the state dir of the one cluster the end-to-end files share (test/e2e/shared-cluster.ts). */
export const SHARED_CLUSTER_ENV = "RESUMABLE_E2E_SHARED_CLUSTER";

export interface TestCluster {
  cluster: Cluster;
  kc: KubeConfig;
  core: CoreV1Api;
  /** kubectl against this cluster; rejects with kubectl's stderr on failure. */
  kubectl(args: string[], input?: string): Promise<string>;
}

/** Registers before/after hooks; the returned object is filled in by `before`. */
export function useCluster(opts: Omit<ClusterOptions, "stateDir"> = {}): TestCluster {
  const t = {} as TestCluster;
  before(async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "resumable-cluster-"));
    t.cluster = await startCluster({ ...opts, stateDir });
    t.kc = new KubeConfig();
    t.kc.loadFromFile(t.cluster.kubeconfig);
    t.core = t.kc.makeApiClient(CoreV1Api);
    t.kubectl = (args, input) => kubectl(t.cluster.kubeconfig, args, input);
  }, { timeout: 15 * 60_000 });
  after(async () => {
    await t.cluster?.stop();
  });
  return t;
}

export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const child = execFileAsync("kubectl", ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/**
 * Waits for a CRD just applied to be Established. Not `kubectl wait --for=condition=…`: on
 * a CRD the apiserver has not yet given any status it fails at once ("status.conditions
 * accessor error: <nil>") instead of waiting, which made suites flake in their set-up.
 */
export async function crdEstablished(kubeconfig: string, name: string, timeoutMs = 60_000): Promise<void> {
  const jsonpath = `jsonpath={.status.conditions[?(@.type=="Established")].status}`;
  await eventually(`CRD ${name} to be Established`, async () =>
    (await kubectl(kubeconfig, ["get", "crd", name, "-o", jsonpath])).trim() === "True" ? true : undefined, timeoutMs);
}
