// The chart installed into a live cluster the way users install it.
import { helmWithValues, NAMESPACE, RELEASE } from "./render.js";
import { CHART_DIR, run } from "./tools.js";

/** `helm upgrade --install … --wait`; rejects with helm's message. */
export async function helmInstall(kubeconfig: string, values: object = {}): Promise<void> {
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
