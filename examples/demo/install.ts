// Installs the operator the way users do: the Helm chart, with helm built
// from the pinned module (cached like the cluster binaries).
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export const RELEASE = "resumable";
export const OPERATOR_NAMESPACE = "resumable-system";

/**
 * `local`: the embedded cluster, whose process kubelet runs pods as host processes
 * sharing the machine's network, so the operator binds its metrics port to its own
 * pod IP; on any other cluster the chart's defaults stand.
 */
export function installChart(repo: string, kubeconfig: string, runNamespace: string, local: boolean): void {
  const tools = execFileSync("bash", [join(repo, "test/tools/build.sh")], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
  execFileSync(join(tools, "helm"), [
    "upgrade", "--install", RELEASE, join(repo, "charts/resumable"),
    "--kubeconfig", kubeconfig,
    "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
    "--set", `trainer.namespaces={${runNamespace}}`,
    ...(local ? ["--set", "metrics.bindAddress=$(POD_IP)"] : []),
    "--wait", "--timeout", "5m",
  ], { stdio: "inherit" });
}
