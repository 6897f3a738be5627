// Installs the operator the way users do: the Helm chart, with the helm
// examples/demo/tools.ts found on PATH or built.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export const RELEASE = "resumable";
export const OPERATOR_NAMESPACE = "resumable-system";

export const DEMO_PRICES = {
  currency: "USD",
  instanceTypes: {
    "n1-standard-4": { spot: 0.18, onDemand: 0.54 },
    "e2-standard-4": { spot: 0.05, onDemand: 0.13 },
  },
};

/**
 * `local`: the embedded cluster, whose process kubelet runs pods as host processes
 * sharing the machine's network, so the operator binds its metrics port to its own
 * pod IP; on any other cluster the chart's defaults stand.
 */
export function installChart(helm: string, repo: string, kubeconfig: string, runNamespace: string, local: boolean): void {
  execFileSync(helm, [
    "upgrade", "--install", RELEASE, join(repo, "charts/resumable"),
    "--kubeconfig", kubeconfig,
    "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
    "--set", `trainer.namespaces={${runNamespace}}`,
    ...(local ? ["--set", "metrics.bindAddress=$(POD_IP)"] : []),
    // A demo is watched step by step and preempted at 40 %: progress as often as the
    // trainer reports it (every 5 s), not the production default of at most every 15 s.
    "--set", "progressWriteIntervalSeconds=5",
    // Illustrative hourly prices for the local cluster's instance types, so the summary can
    // show an estimated cost and the saving against all on-demand.
    "--set-json", `prices=${JSON.stringify(DEMO_PRICES)}`,
    "--wait", "--timeout", "5m",
  ], { stdio: "inherit" });
}
