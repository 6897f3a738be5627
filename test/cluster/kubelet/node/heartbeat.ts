// A node's signs of life: its Lease in kube-node-lease renewed every 2 s and
// its status (conditions with fresh heartbeat times) patched every 10 s, so
// the real node lifecycle controller sees it alive. Stopping the heartbeat
// is how a lost or partitioned node goes silent.
import { randomUUID } from "node:crypto";
import { isAlreadyExists, isNotFound, type ApiClient } from "../api/client.js";
import type { Node, ObjectMeta } from "../api/types.js";
import type { NodeConfig } from "../config.js";
import type { Logger } from "../log.js";
import { nodeConditions, nodeStatus, type KubeletInfo, type ReadyState } from "./object.js";

const LEASE_RENEW_MS = 2_000;
const STATUS_UPDATE_MS = 10_000;
const LEASE_DURATION_SECONDS = 40;

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export class NodeHeartbeat {
  private timers: NodeJS.Timeout[] = [];
  private readonly bootID = randomUUID();
  private lease?: Lease;

  constructor(
    private readonly api: ApiClient,
    private readonly cfg: NodeConfig,
    private readonly kubelet: KubeletInfo,
    /** The Node as last seen, for condition transition times, and its uid for the lease's owner. */
    private readonly currentNode: () => Node | undefined,
    private readonly ready: () => ReadyState,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stop();
    const every = (ms: number, fn: () => Promise<void>) => {
      let busy = false;
      const tick = () => {
        if (busy) return;
        busy = true;
        fn()
          .catch((err) => this.log.warn({ err: String(err) }, "heartbeat failed"))
          .finally(() => (busy = false));
      };
      tick();
      this.timers.push(setInterval(tick, ms));
    };
    every(LEASE_RENEW_MS, () => this.renewLease());
    every(STATUS_UPDATE_MS, () => this.updateStatus());
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  async updateStatus(): Promise<void> {
    const previous = this.currentNode()?.status?.conditions ?? [];
    const conditions = nodeConditions(previous, this.ready(), new Date().toISOString());
    const status = nodeStatus(this.cfg, conditions, this.kubelet, this.bootID);
    await this.api.patch(`/api/v1/nodes/${this.cfg.name}/status`, { status }, "strategic");
  }

  private async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases`;
    const renewTime = microTime(new Date());
    if (this.lease) {
      try {
        this.lease = await this.api.replace<Lease>(`${path}/${this.cfg.name}`, {
          ...this.lease,
          spec: { ...this.lease.spec, renewTime },
        });
        return;
      } catch (err) {
        // Someone else wrote it, or it is gone: start over from the server's copy.
        this.lease = undefined;
        if (!isNotFound(err)) throw err;
      }
    }
    try {
      this.lease = await this.api.get<Lease>(`${path}/${this.cfg.name}`);
      this.lease = await this.api.replace<Lease>(`${path}/${this.cfg.name}`, {
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: this.cfg.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const node = this.currentNode();
      try {
        this.lease = await this.api.create<Lease>(path, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: this.cfg.name,
            namespace: "kube-node-lease",
            // Garbage-collected with its Node, as the kubelet's lease is.
            ...(node?.metadata.uid
              ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.cfg.name, uid: node.metadata.uid }] }
              : {}),
          },
          spec: { holderIdentity: this.cfg.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime },
        });
      } catch (createErr) {
        if (!isAlreadyExists(createErr)) throw createErr;
      }
    }
  }
}
