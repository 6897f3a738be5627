// One node: registers it, keeps it alive, runs the pods bound to it, and
// plays the faults its `resumable.dev/fault` annotation asks for.
import { isAlreadyExists } from "../api/client.js";
import type { Node, Pod } from "../api/types.js";
import type { NodeConfig } from "../config.js";
import { systemClock } from "@resumable/kube-runtime";
import { FAULT_ANNOTATION, noticeSpec, parseFault, parseNotice, type Fault, type PlannedNotice } from "./faults.js";
import type { Logger } from "../log.js";
import { NodeHeartbeat } from "./heartbeat.js";
import { HOST_IP, nodeObject, type KubeletInfo } from "./object.js";
import { gracefulShutdown } from "./shutdown.js";
import { PodWorker, type WorkerDeps } from "../pod/worker.js";
import { WriteGate } from "./write-gate.js";

/** ok ↔ partitioned; ok or partitioned ↔ lost; ok → shutting-down → gone. */
export type NodeMode = "ok" | "partitioned" | "lost" | "shutting-down" | "gone";

export interface AgentDeps extends Omit<WorkerDeps, "log" | "gate" | "hostIP"> {
  log: Logger;
  kubelet: KubeletInfo;
  /** The pods bound to this node, as the kubelet's pod watch sees them now. */
  podsOnNode(node: string): Pod[];
}

export class NodeAgent {
  mode: NodeMode = "ok";
  readonly workers = new Map<string, PodWorker>();
  private node?: Node;
  private readonly gate = new WriteGate();
  private readonly rejected = new Set<string>();
  /** A spot-reclaim has begun (its notice, if any, may still be running). */
  private reclaiming = false;
  private readonly heartbeat: NodeHeartbeat;
  private readonly log: Logger;

  constructor(
    readonly cfg: NodeConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.log.child({ node: cfg.name });
    this.heartbeat = new NodeHeartbeat(
      deps.api,
      cfg,
      deps.kubelet,
      () => this.node,
      () => (this.mode === "shutting-down" ? { notReadyMessage: "node is shutting down" } : {}),
      this.log,
    );
  }

  async register(): Promise<void> {
    try {
      this.node = await this.deps.api.create<Node>("/api/v1/nodes", nodeObject(this.cfg));
      this.log.info("node registered");
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      this.node = await this.deps.api.get<Node>(`/api/v1/nodes/${this.cfg.name}`);
      this.log.info("node already registered");
    }
    await this.heartbeat.updateStatus();
    this.heartbeat.start();
  }

  stop(): void {
    this.heartbeat.stop();
  }

  /** The Node changed (or was deleted) in the API. */
  nodeChanged(node: Node | undefined): void {
    if (this.mode === "gone") return;
    if (!node) {
      if (this.mode !== "lost") this.log.warn("node object deleted; heartbeats stop");
      this.heartbeat.stop();
      return;
    }
    this.node = node;
    this.applyFault(parseFault(node.metadata.annotations?.[FAULT_ANNOTATION]));
  }

  /** A pod bound to this node changed, or was deleted (pod undefined). */
  podChanged(pod: Pod | undefined, old: Pod | undefined): void {
    if (this.mode !== "ok" && this.mode !== "shutting-down") return;
    if (!pod) {
      const uid = old?.metadata.uid;
      const worker = uid ? this.workers.get(uid) : undefined;
      if (worker && uid) this.forget(uid, worker);
      return;
    }
    const worker = this.workers.get(pod.metadata.uid);
    if (worker) {
      worker.update(pod);
      return;
    }
    if (this.mode === "shutting-down") {
      void this.reject(pod);
      return;
    }
    const created = new PodWorker(pod, { ...this.deps, log: this.log, gate: this.gate, hostIP: HOST_IP });
    this.workers.set(pod.metadata.uid, created);
    created.update(pod);
  }

  /** The shutdown manager's admission check: no new pods on a node that is going away. */
  private async reject(pod: Pod): Promise<void> {
    const { uid, namespace = "default", name } = pod.metadata;
    if (this.rejected.has(uid) || pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") return;
    this.rejected.add(uid);
    const status = { phase: "Failed", reason: "NodeShutdown", message: "Pod was rejected: Pod was rejected as the node is shutting down." };
    await this.deps.api
      .patch(`/api/v1/namespaces/${namespace}/pods/${name}/status`, { metadata: { uid }, status }, "strategic")
      .catch((err) => this.log.warn({ err: String(err), pod: name }, "could not reject pod"));
  }

  private forget(uid: string, worker: PodWorker): void {
    worker.removed();
    void worker.finished.then(() => {
      worker.cleanup();
      this.workers.delete(uid);
    });
  }

  /** After a partition heals: catch up with everything that happened to this node's pods meanwhile. */
  private resync(): void {
    const pods = this.deps.podsOnNode(this.cfg.name);
    const live = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, worker] of this.workers) if (!live.has(uid)) this.forget(uid, worker);
    for (const pod of pods) this.podChanged(pod, undefined);
  }

  private applyFault(fault: Fault | undefined): void {
    if (fault === "partition" && this.mode === "ok") {
      this.log.warn("fault: partition — heartbeats and API writes stop, containers keep running");
      this.mode = "partitioned";
      this.gate.close();
      this.heartbeat.stop();
    } else if (fault === undefined && this.mode === "partitioned") {
      this.log.warn("partition healed");
      this.mode = "ok";
      this.gate.reopen();
      this.heartbeat.start();
      this.resync();
    } else if (fault === undefined && this.mode === "lost") {
      this.reboot();
    } else if (fault === "hard-loss" && (this.mode === "ok" || this.mode === "partitioned")) {
      this.log.warn("fault: hard-loss — every container SIGKILLed, the node goes silent");
      this.mode = "lost";
      this.gate.close();
      this.heartbeat.stop();
      for (const worker of this.workers.values()) worker.abandon();
    } else if (fault === "spot-reclaim" && this.mode === "ok" && !this.reclaiming) {
      // The node stays Ready and admits pods through a notice, as a real one does.
      this.reclaiming = true;
      void this.reclaim();
    }
  }

  /**
   * A lost node comes back as after a reboot: its containers are gone, its
   * heartbeats resume, and each of its pods is picked up again as a kubelet
   * picks up pods after a restart.
   */
  private reboot(): void {
    this.log.warn("hard-loss lifted: the node boots again");
    for (const [uid, worker] of this.workers) {
      worker.cleanup();
      this.workers.delete(uid);
    }
    this.mode = "ok";
    this.gate.reopen();
    this.heartbeat.start();
    this.resync();
  }

  private async reclaim(): Promise<void> {
    const notice = parseNotice(this.node?.metadata.annotations);
    if (notice instanceof Error) this.log.error({ err: notice.message }, "fault-notice ignored: the shutdown follows at once");
    else if (notice) await this.playNotice(notice);
    if (this.mode !== "ok") return; // lost or partitioned meanwhile: that fault wins
    this.mode = "shutting-down";
    this.log.warn({ graceSeconds: this.cfg.shutdownGracePeriodSeconds ?? 30 }, "fault: spot-reclaim — graceful node shutdown");
    await gracefulShutdown({
      api: this.deps.api,
      nodeName: this.cfg.name,
      graceSeconds: this.cfg.shutdownGracePeriodSeconds ?? 30,
      workers: [...this.workers.values()],
      syncNodeStatus: () => this.heartbeat.updateStatus(),
      log: this.log,
    });
    this.heartbeat.stop();
    this.mode = "gone";
  }

  /**
   * What a cloud's termination handler does before the VM goes: taint (or cordon) the Node,
   * then the shutdown `seconds` later. The Node is patched with its resourceVersion, so a
   * concurrent change (the heartbeat writes status only) is retried, never overwritten.
   */
  private async playNotice(notice: PlannedNotice): Promise<void> {
    const path = `/api/v1/nodes/${this.cfg.name}`;
    for (let tries = 1; ; tries++) {
      try {
        const node = await this.deps.api.get<Node>(path);
        await this.deps.api.patch(path, { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: noticeSpec(notice.kind, node.spec ?? {}) });
        break;
      } catch (err) {
        if (tries >= 5) {
          this.log.error({ err: String(err) }, "could not post the reclaim notice; the shutdown follows as planned");
          break;
        }
        await systemClock.sleep(200 * tries);
      }
    }
    this.log.warn({ notice: notice.kind, seconds: notice.seconds }, "fault: reclaim notice posted; graceful shutdown follows");
    await systemClock.sleep(notice.seconds * 1000);
  }
}
