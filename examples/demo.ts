// `make demo`: the whole product in one command. A cluster (KUBECONFIG's or
// the embedded local one), the operator installed from the Helm chart, the
// example TrainingRun on a spot GPU node, a spot reclaim mid-run, the resume
// from the final checkpoint, and a summary of what it cost.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { TrainingRun } from "../operator/src/api/trainingrun.js";
import { demoCluster } from "./demo/cluster.js";
import { follow } from "./demo/follow.js";
import { installChart } from "./demo/install.js";
import { summaryTable } from "./demo/summary.js";
import { demoTools } from "./demo/tools.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const namespace = "default";
const runName = "mnist-spot";

async function main(): Promise<void> {
  const tools = demoTools();
  const cluster = await demoCluster(repo, tools.kubectl);
  const kubectl = (...args: string[]) =>
    execFileSync(tools.kubectl, ["--kubeconfig", cluster.kubeconfig, ...args], { stdio: ["ignore", "pipe", "inherit"] }).toString();
  console.log(kubectl("get", "nodes", "-L", "cloud.google.com/gke-spot"));

  console.log("Installing the operator with Helm …");
  installChart(tools.helm, repo, cluster.kubeconfig, namespace, cluster.local);

  // A demo starts from step 0: an earlier demo's run goes, and so does the claim it kept
  // (retainOnDelete), whose fence names that run: a run applied again under the same name is
  // another run (another uid), and the trainer refuses a location another run owns.
  kubectl("delete", "trainingrun", runName, "-n", namespace, "--ignore-not-found", "--wait=true");
  kubectl("delete", "pvc", `${runName}-checkpoints`, "-n", namespace, "--ignore-not-found", "--wait=true");
  console.log(kubectl("apply", "-n", namespace, "-f", join(repo, "examples/run.yaml")).trim());

  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const disrupt = async (run: TrainingRun): Promise<string> => {
    const pod = `${runName}-${run.status?.attempt}`;
    const node = (await core.readNamespacedPod({ name: pod, namespace })).spec?.nodeName ?? "";
    if (cluster.local) {
      // The cloud reclaims the VM: graceful node shutdown, then the node is gone.
      kubectl("annotate", "node", node, "resumable.dev/fault=spot-reclaim", "--overwrite");
      return `☁ spot node ${node} reclaimed at step ${run.status?.progress?.step} (graceful node shutdown)`;
    }
    execFileSync(join(repo, "node_modules/.bin/resumable"), ["preempt", runName, "-n", namespace], { stdio: "inherit", env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
    return `☁ pod ${pod} evicted at step ${run.status?.progress?.step}`;
  };
  const final = await follow({
    custom: kc.makeApiClient(CustomObjectsApi), namespace, name: runName, disrupt, disruptAt: 0.4, timeoutMs: 20 * 60_000,
  });

  console.log(`\n${summaryTable(final)}\n`);
  console.log(kubectl("get", "trainingruns", "-n", namespace));
  if (cluster.startedHere) {
    console.log("The local cluster is still up for you to look around:\n" +
      `  export KUBECONFIG=${cluster.kubeconfig}\n  kubectl get tr; kubectl describe tr ${runName}\n` +
      "Stop it with: make cluster-down");
  }
  if (final.status?.phase !== "Succeeded") process.exit(1);
}

main().catch((err: unknown) => {
  console.error(`\ndemo failed: ${(err as Error).message}`);
  process.exit(1);
});
