// What makes a gang's pod (spec.workers > 1) differ from a single pod: its name and rank, its
// hostname under the run's headless Service, the rank variables, and the peers file in the
// downwardAPI volume. Only rank 0 touches checkpoint storage (docs/trainer-protocol.md,
// "Gangs"), so render.ts gives the others no volume, no bucket and no credentials.
import type { V1DownwardAPIVolumeFile, V1EnvVar, V1OwnerReference, V1Service } from "@kubernetes/client-node";
import { CHECKPOINT_REQUEST_DIR, GANG_ENV, GANG_PORT, PEERS_ANNOTATION, PEERS_FILE } from "@resumable/protocol";
import { RUN_LABEL } from "../api/group.js";
import type { TrainingRun } from "../api/trainingrun.js";
import { podName } from "../model/observe.js";

/** One pod of a gang: its rank among `workers`. */
export interface GangMember {
  rank: number;
  workers: number;
}

/** A DNS label's limit: a longer pod name gets no hostname (the peers file still works). */
const MAX_HOSTNAME = 63;

/** The run's headless Service: it is named after the run, and each rank's subdomain. */
export function gangServiceName(run: TrainingRun): string {
  return run.metadata.name ?? "";
}

/** `<pod>.<service>.<namespace>.svc`: rank 0's name where the cluster has DNS (MASTER_ADDR). */
function masterAddress(run: TrainingRun, attempt: number): string {
  return `${podName(run.metadata.name ?? "", attempt, 0)}.${gangServiceName(run)}.${run.metadata.namespace ?? "default"}.svc`;
}

/** GANG_ENV, in its order: the reference trainer's names, then PyTorch's (one pod per node: LOCAL_RANK 0). */
export function gangEnv(run: TrainingRun, attempt: number, member: GangMember): V1EnvVar[] {
  return [
    { name: GANG_ENV.rank, value: String(member.rank) },
    { name: GANG_ENV.worldSize, value: String(member.workers) },
    { name: GANG_ENV.peersFile, value: PEERS_FILE },
    { name: GANG_ENV.torchRank, value: String(member.rank) },
    { name: GANG_ENV.torchWorldSize, value: String(member.workers) },
    { name: GANG_ENV.torchLocalRank, value: "0" },
    { name: GANG_ENV.masterAddr, value: masterAddress(run, attempt) },
    { name: GANG_ENV.masterPort, value: String(GANG_PORT) },
  ];
}

/** The peers annotation, projected beside the checkpoint request. */
export const PEERS_ITEM: V1DownwardAPIVolumeFile = {
  path: PEERS_FILE.slice(CHECKPOINT_REQUEST_DIR.length + 1),
  fieldRef: { fieldPath: `metadata.annotations['${PEERS_ANNOTATION}']` },
};

/** hostname and subdomain, so the pod resolves as `<pod>.<service>.<namespace>.svc` where there is DNS. */
export function gangHostname(run: TrainingRun, name: string): { hostname?: string; subdomain?: string } {
  if (name.length > MAX_HOSTNAME) return {};
  return { hostname: name, subdomain: gangServiceName(run) };
}

/**
 * The run's headless Service, a bonus for clusters with DNS (MASTER_ADDR): nothing needs it,
 * since the peers file carries every address. publishNotReadyAddresses: a rank is resolvable
 * before it is Ready, as its peers look for it while it starts.
 */
export function buildGangService(run: TrainingRun, owner: V1OwnerReference): V1Service {
  const runName = run.metadata.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: gangServiceName(run), namespace: run.metadata.namespace, labels: { [RUN_LABEL]: runName }, ownerReferences: [owner] },
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { [RUN_LABEL]: runName },
      ports: [{ name: "gang", port: GANG_PORT, targetPort: GANG_PORT }],
    },
  };
}
