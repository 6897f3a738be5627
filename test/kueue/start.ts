// Kueue (sigs.k8s.io/kueue, pinned in versions.env) as a host process beside a local cluster:
// built, installed and configured by ../cluster/addon.ts, with the settings of its own below.
// docs/kueue.md says why each is what it is.
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "../cluster/cluster.js";
import { clusterCa, startAddon, type Addon } from "../cluster/addon.js";
import { issueServingCert } from "../cluster/pki.js";

/**
 * With internal cert management off, Kueue v0.19.2 loads its metrics server's certificate from
 * this fixed path at start (cmd/kueue/main.go), and exits when it is missing, even with metrics
 * off. Nothing serves with it here, so any valid pair will do, and one pair serves every cluster.
 */
export const KUEUE_METRICS_CERT_DIR = "/etc/kueue/metrics/certs";

/**
 * The workload kinds Kueue admits here. "pod": plain pods and pod groups
 * (kueue.x-k8s.io/pod-group-name), what the operator's attempts and gangs are; "batch/job": the
 * simplest queued workload, the smoke test's; "jobset.x-k8s.io/jobset": the side-by-side
 * benchmark's JobSets, queued the way their users queue them (Kueue starts that integration
 * when the JobSet CRD appears, so it costs nothing on a cluster without JobSet).
 */
export const KUEUE_INTEGRATIONS = ["pod", "batch/job", "jobset.x-k8s.io/jobset"];

export function startKueue(cluster: Pick<Cluster, "stateDir" | "kubeconfig" | "adopt">): Promise<Addon> {
  ensureMetricsCert(cluster.stateDir);
  return startAddon(cluster, {
    name: "kueue",
    buildScript: "test/kueue/build.sh",
    configApiVersion: "config.kueue.x-k8s.io/v1beta2",
    settings: {
      integrations: { frameworks: KUEUE_INTEGRATIONS },
      // Its on-demand visibility API is an aggregated apiserver on a fixed port (8082): two
      // clusters on one host would collide, and nothing here reads pending workloads' positions.
      featureGates: { VisibilityOnDemand: false },
    },
  });
}

/**
 * Writes the pair Kueue insists on, once per machine. Issued in a directory of its own and renamed
 * into place, so a second cluster starting Kueue at the same moment never reads half a key.
 */
function ensureMetricsCert(stateDir: string): void {
  if (existsSync(join(KUEUE_METRICS_CERT_DIR, "tls.crt"))) return;
  const staging = `${KUEUE_METRICS_CERT_DIR}.${process.pid}`;
  try {
    mkdirSync(staging, { recursive: true });
  } catch (err) {
    throw new Error(`Kueue needs a certificate in ${KUEUE_METRICS_CERT_DIR} and it cannot be created: ${(err as Error).message}`);
  }
  issueServingCert({ dir: staging, ...clusterCa(stateDir) }, "tls", "kueue-metrics", ["IP:127.0.0.1"]);
  try {
    renameSync(staging, KUEUE_METRICS_CERT_DIR);
  } catch {
    // Another start put its pair there first: that one serves.
    rmSync(staging, { recursive: true, force: true });
  }
}
