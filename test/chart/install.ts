// The chart installed into a live cluster the way users install it.
import { helmWithValues, NAMESPACE, RELEASE } from "./render.js";
import { CHART_DIR, run } from "./tools.js";

/**
 * What the process kubelet needs beyond the chart's defaults: its pods are host
 * processes sharing one network namespace (and the machine with other test
 * clusters), so the operator's metrics port is bound to the pod's own IP. The
 * real node (test/realnode/) installs with the defaults.
 */
export const PROCESS_KUBELET_VALUES = { metrics: { bindAddress: "$(POD_IP)" } };

/**
 * The scenarios preempt a run at a step its status shows, on runs of tens of seconds: at the
 * chart's default 15 s between progress writes a run could end first (see
 * test/e2e/harness.ts SCENARIO_PROGRESS_WRITES).
 */
export const SCENARIO_VALUES = { progressWriteIntervalSeconds: 1 };

/** `helm upgrade --install … --wait` on the process-kubelet cluster; rejects with helm's message. */
export async function helmInstall(kubeconfig: string, values: object = {}): Promise<void> {
  return helmInstallWith(kubeconfig, { ...PROCESS_KUBELET_VALUES, ...SCENARIO_VALUES, ...values });
}

/** `helm upgrade --install … --wait` with exactly these values over the chart's defaults. */
export async function helmInstallWith(kubeconfig: string, values: object): Promise<void> {
  const result = await helmWithValues([
    "upgrade", "--install", RELEASE, CHART_DIR,
    "--kubeconfig", kubeconfig, "--namespace", NAMESPACE, "--create-namespace",
    "--wait", "--timeout", "5m",
  ], values);
  if (result.code !== 0) throw new Error(`helm install failed: ${result.stderr}`);
}

export async function helmUninstall(kubeconfig: string): Promise<string> {
  const result = await run("helm", ["uninstall", RELEASE, "--kubeconfig", kubeconfig, "--namespace", NAMESPACE, "--wait"]);
  if (result.code !== 0) throw new Error(`helm uninstall failed: ${result.stderr}`);
  return result.stdout;
}
