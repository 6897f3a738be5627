// A dynamic provisioner for the default StorageClass `local-path`: each
// Pending claim of the class gets a hostPath PersistentVolume, a directory
// under DIR/volumes that outlives pods and attempts; the real PV controller
// binds the two. A Released volume of the class is removed with its
// directory (reclaimPolicy Delete), as external provisioners do. Both are
// retried with back-off until they succeed, as sig-storage's provisioner
// library does: the reflector hands out a claim once, on its transition, so
// a create lost to one failed request would leave the claim Pending forever.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { JitteredBackoff, type BackoffPolicy } from "@resumable/kube-runtime";
import { isAlreadyExists, isNotFound, type ApiClient } from "../api/client.js";
import type { PersistentVolume, PersistentVolumeClaim, Unsaved } from "../api/types.js";
import type { Logger } from "../log.js";

const STORAGE_CLASS = "local-path";
const PROVISIONER = "resumable.dev/local-path";
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** As the provisioner library's default rate limiter: from 1 s, doubling, at most 5 min. */
const RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 300_000, resetAfterMs: 600_000 };

export class LocalPathProvisioner {
  private readonly root: string;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly api: ApiClient,
    stateDir: string,
    private readonly log: Logger,
    /** The claim as the kubelet's claims cache has it now, by namespace/name. */
    private readonly cachedClaim: (key: string) => PersistentVolumeClaim | undefined,
    private readonly retry: BackoffPolicy = RETRY,
  ) {
    this.root = resolve(stateDir, "volumes");
    mkdirSync(this.root, { recursive: true });
  }

  async ensureStorageClass(): Promise<void> {
    try {
      await this.api.create("/apis/storage.k8s.io/v1/storageclasses", {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: PROVISIONER,
        reclaimPolicy: "Delete",
        volumeBindingMode: "Immediate",
      });
      this.log.info({ storageClass: STORAGE_CLASS }, "storage class created");
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  claimChanged(pvc: PersistentVolumeClaim | undefined): void {
    if (!pvc || pvc.spec.storageClassName !== STORAGE_CLASS || pvc.spec.volumeName || pvc.status?.phase !== "Pending") return;
    if (pvc.metadata.deletionTimestamp) return;
    const name = `pvc-${pvc.metadata.uid}`;
    if (this.inFlight.has(name)) return;
    this.inFlight.add(name);
    void this.provision(name, pvc).finally(() => this.inFlight.delete(name));
  }

  volumeChanged(pv: PersistentVolume | undefined): void {
    if (!pv || pv.metadata.annotations?.[PROVISIONED_BY] !== PROVISIONER) return;
    if (pv.status?.phase !== "Released" || pv.spec.persistentVolumeReclaimPolicy !== "Delete") return;
    if (this.inFlight.has(pv.metadata.name)) return;
    this.inFlight.add(pv.metadata.name);
    void this.reclaim(pv).finally(() => this.inFlight.delete(pv.metadata.name));
  }

  private async provision(name: string, pvc: PersistentVolumeClaim): Promise<void> {
    const namespace = pvc.metadata.namespace ?? "default";
    const claim = `${namespace}/${pvc.metadata.name}`;
    const dir = join(this.root, name);
    const pv: Unsaved<PersistentVolume> = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER } },
      spec: {
        storageClassName: STORAGE_CLASS,
        capacity: { storage: pvc.spec.resources?.requests?.storage ?? "1Gi" },
        accessModes: pvc.spec.accessModes ?? ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        volumeMode: pvc.spec.volumeMode ?? "Filesystem",
        hostPath: { path: dir, type: "DirectoryOrCreate" },
        claimRef: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace,
          name: pvc.metadata.name,
          uid: pvc.metadata.uid,
        },
      },
    };
    await this.untilDone(`provision ${name} for ${claim}`, async () => {
      mkdirSync(dir, { recursive: true });
      // World-writable as rancher's local-path provisioner makes it (mkdir's mode
      // is cut by the umask): a hostPath volume gets no fsGroup ownership from a
      // real kubelet, so the non-root trainer could not write its checkpoints.
      chmodSync(dir, 0o777);
      try {
        await this.api.create("/api/v1/persistentvolumes", pv);
        this.log.info({ pv: name, pvc: claim, path: dir }, "volume provisioned");
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }, () => {
      // Retry only for a claim that is still there, with that uid, and still unbound.
      const now = this.cachedClaim(claim);
      return now?.metadata.uid === pvc.metadata.uid && !now.spec.volumeName && !now.metadata.deletionTimestamp;
    });
  }

  private async reclaim(pv: PersistentVolume): Promise<void> {
    const dir = pv.spec.hostPath?.path;
    await this.untilDone(`delete released volume ${pv.metadata.name}`, async () => {
      // Only ever remove what this provisioner made.
      if (dir && resolve(dir).startsWith(this.root + sep)) rmSync(dir, { recursive: true, force: true });
      try {
        await this.api.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
        this.log.info({ pv: pv.metadata.name }, "released volume deleted");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }, () => true);
  }

  /** Runs `attempt` until it succeeds, backing off between tries while `stillWanted()`. */
  private async untilDone(what: string, attempt: () => Promise<void>, stillWanted: () => boolean): Promise<void> {
    const backoff = new JitteredBackoff(this.retry);
    for (;;) {
      try {
        await attempt();
        return;
      } catch (err) {
        const retryInMs = Math.round(backoff.next());
        this.log.error({ err: String(err), retryInMs }, `could not ${what}; retrying`);
        // Unreferenced: a retry waiting here does not keep a stopping kubelet alive.
        await sleep(retryInMs, undefined, { ref: false });
        if (!stillWanted()) return;
      }
    }
  }
}
