// Installs the operator the way users do: the Helm chart, with helm built
// from the pinned module (cached like the cluster binaries).
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

export function installChart(repo: string, kubeconfig: string, runNamespace: string): void {
  const tools = execFileSync("bash", [join(repo, "test/tools/build.sh")], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
  execFileSync(join(tools, "helm"), [
    "upgrade", "--install", RELEASE, join(repo, "charts/resumable"),
    "--kubeconfig", kubeconfig,
    "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
    "--set", `trainer.namespaces={${runNamespace}}`,
    // Illustrative hourly prices for the local cluster's instance types, so the summary can
    // show an estimated cost and the saving against all on-demand.
    "--set-json", `prices=${JSON.stringify(DEMO_PRICES)}`,
    "--wait", "--timeout", "5m",
  ], { stdio: "inherit" });
}
