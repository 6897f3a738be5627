// JobSet (sigs.k8s.io/jobset, pinned in versions.env) as a host process beside a local
// cluster: built, installed and configured by ../cluster/addon.ts, which gives it everything
// it needs here. docs/benchmarks.md says what the side-by-side runs against.
import type { Cluster } from "../cluster/cluster.js";
import { startAddon, type Addon } from "../cluster/addon.js";

export function startJobSet(cluster: Pick<Cluster, "stateDir" | "kubeconfig" | "adopt">): Promise<Addon> {
  return startAddon(cluster, { name: "jobset", buildScript: "test/jobset/build.sh", configApiVersion: "config.jobset.x-k8s.io/v1alpha1" });
}
