// One pod on one node, from admission to deletion, in the kubelet's order:
// sandbox (pod IP), volumes, init containers one by one, then the regular
// containers with restarts per restartPolicy. Termination (deletion, node
// shutdown) stops the containers gracefully, writes the final status, and
// for a deleted pod confirms the deletion with grace 0.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { JitteredBackoff, systemClock } from "@resumable/kube-runtime";
import { ApiError, type ApiClient } from "../api/client.js";
import type { Pod, PodStatus, RestartPolicy } from "../api/types.js";
import type { ImageMap } from "../config.js";
import { ContainerSlot, type InstanceResult } from "./container/slot.js";
import { lostState, terminated, waiting } from "./container/status.js";
import type { ObjectLookups } from "./container/env.js";
import { podEventRecorder, type RecordEvent } from "./events.js";
import type { Logger } from "../log.js";
import type { PidFiles } from "./container/pid-files.js";
import type { PodIpPool } from "./ip-pool.js";
import { buildPodStatus, type AbnormalTermination } from "./status.js";
import { StatusPublisher } from "./status-publisher.js";
import { PodVolumes } from "../storage/pod-volumes.js";
import { WRITE_RETRY, type WriteGate } from "../node/write-gate.js";

export interface WorkerDeps {
  api: ApiClient;
  log: Logger;
  gate: WriteGate;
  lookups: ObjectLookups;
  imageMap: ImageMap;
  pids: PidFiles;
  ips: PodIpPool;
  stateDir: string;
  hostIP: string;
  apiserverHost: string;
  apiserverPort: number;
}

const CONFIG_RETRY_MS = 5_000;
const DEFAULT_GRACE_SECONDS = 30;
const isTerminalPhase = (p: string | undefined) => p === "Succeeded" || p === "Failed";

function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
}

/**
 * Where a pod worker is, in order: `starting` (no sandbox yet), `running` (sandbox up,
 * containers run), `finishing` (no container runs; the final status is being written),
 * `finished` (it is written). `abandoned` (the kubelet exits, or the node is lost) is final
 * and writes nothing more. A deletion can arrive in any phase: `requested` once the API
 * marks the pod deleted, `confirming` once the kubelet has sent its last word.
 */
interface Lifecycle {
  phase: "starting" | "running" | "finishing" | "finished" | "abandoned";
  deletion: "none" | "requested" | "confirming";
}

export class PodWorker {
  private pod: Pod;
  private readonly log: Logger;
  private readonly event: RecordEvent;
  private readonly init: ContainerSlot[];
  private readonly containers: ContainerSlot[];
  private readonly publisher: StatusPublisher;
  private readonly podDir: string;
  private readonly stop = new AbortController();
  private readonly volumes: PodVolumes;
  private lifecycle: Lifecycle = { phase: "starting", deletion: "none" };
  private podIP?: string;
  private startTime?: string;
  private abnormal?: AbnormalTermination;
  /** Resolves when no container runs and the final status is written. */
  readonly finished: Promise<void>;

  constructor(
    pod: Pod,
    private readonly deps: WorkerDeps,
  ) {
    this.pod = pod;
    const { namespace = "default", name, uid } = pod.metadata;
    this.log = deps.log.child({ pod: `${namespace}/${name}`, uid });
    this.event = podEventRecorder(deps.api, deps.gate, () => this.pod, this.log);
    this.podDir = join(deps.stateDir, "pods", uid);
    const logRoot = join(deps.stateDir, "logs", `${namespace}_${name}_${uid}`);
    this.volumes = new PodVolumes({
      api: deps.api,
      lookups: deps.lookups,
      log: this.log,
      hostIP: deps.hostIP,
      podDir: this.podDir,
      pod: () => this.pod,
      podIP: () => this.podIP,
      failedMount: (message) => {
        this.log.warn({ err: message }, "FailedMount");
        this.event("Warning", "FailedMount", message);
      },
    });
    const hasInit = (pod.spec.initContainers?.length ?? 0) > 0;
    const slot = (c: Pod["spec"]["containers"][number]) =>
      new ContainerSlot(c, hasInit, {
        pod: () => this.pod,
        env: () => ({
          podIP: this.podIP ?? deps.hostIP,
          hostIP: deps.hostIP,
          apiserverHost: deps.apiserverHost,
          apiserverPort: deps.apiserverPort,
        }),
        lookups: deps.lookups,
        volumes: () => this.volumes.prepared,
        imageMap: deps.imageMap,
        pids: deps.pids,
        podDir: this.podDir,
        logDir: join(logRoot, c.name),
        log: this.log,
        event: this.event,
        changed: () => this.publisher.request(),
      });
    this.init = (pod.spec.initContainers ?? []).map(slot);
    this.containers = pod.spec.containers.map(slot);
    this.publisher = new StatusPublisher(deps.api, this.path, uid, deps.gate, () => this.status(), this.log);
    this.finished = this.run();
  }

  private get path(): string {
    return `/api/v1/namespaces/${this.pod.metadata.namespace ?? "default"}/pods/${this.pod.metadata.name}`;
  }

  private get policy(): RestartPolicy {
    return this.pod.spec.restartPolicy ?? "Always";
  }

  private get terminating(): boolean {
    return this.stop.signal.aborted;
  }

  /** Moves to `phase`; nothing leaves `abandoned`. */
  private enter(phase: Lifecycle["phase"]): void {
    if (this.lifecycle.phase !== "abandoned") this.lifecycle.phase = phase;
  }

  private get abandoned(): boolean {
    return this.lifecycle.phase === "abandoned";
  }

  private get podIsTerminal(): boolean {
    return this.lifecycle.phase === "finishing" || this.lifecycle.phase === "finished";
  }

  private status(): PodStatus {
    return buildPodStatus({
      pod: this.pod,
      initContainerStatuses: this.init.map((s) => s.status),
      containerStatuses: this.containers.map((s) => s.status),
      podIsTerminal: this.podIsTerminal,
      sandboxReady: this.lifecycle.phase === "running",
      hostIP: this.deps.hostIP,
      ...(this.podIP ? { podIP: this.podIP } : {}),
      ...(this.startTime ? { startTime: this.startTime } : {}),
      ...(this.publisher.last ? { previous: this.publisher.last } : {}),
      ...(this.abnormal ? { abnormal: this.abnormal } : {}),
      now: new Date().toISOString(),
    });
  }

  /** A newer version of the pod from the API. */
  update(pod: Pod): void {
    const before = this.pod.metadata;
    this.pod = pod;
    const downward = (m: Pod["metadata"]) => JSON.stringify([m.annotations, m.labels]);
    // Whenever they are set up (the kubelet syncs a changed pod in any phase but the last):
    // an annotation that comes while the containers start is not lost.
    if (this.volumes.prepared.size > 0 && !this.podIsTerminal && downward(before) !== downward(pod.metadata)) {
      this.volumes.refresh();
    }
    if (pod.metadata.deletionTimestamp) {
      if (this.lifecycle.deletion === "none") this.lifecycle.deletion = "requested";
      this.terminate(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS);
      if (this.lifecycle.phase === "finished") void this.confirmDeletion();
    }
  }

  /** The pod is gone from the API (force-deleted): stop its containers, write nothing. */
  removed(): void {
    this.publisher.stop();
    this.terminate(this.pod.metadata.deletionGracePeriodSeconds ?? 0);
  }

  /** Graceful node shutdown: terminate with the node's budget and mark the pod as the kubelet does. */
  async shutdown(graceSeconds: number, abnormal: AbnormalTermination): Promise<void> {
    const own = this.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    if (!this.podIsTerminal) this.abnormal = abnormal;
    this.terminate(Math.min(own, graceSeconds));
    await this.finished;
  }

  /** Ends every container at once. */
  killAll(): void {
    this.stop.abort();
    for (const s of [...this.init, ...this.containers]) s.kill();
  }

  /** Hard node loss: everything dies at once and the kubelet says nothing more. */
  abandon(): void {
    this.enter("abandoned");
    this.publisher.stop();
    this.killAll();
  }

  /** The kubelet itself is stopping: stop the containers gracefully, write nothing more. */
  async exit(graceMs: number): Promise<void> {
    this.enter("abandoned");
    this.publisher.stop();
    this.stop.abort();
    for (const s of [...this.init, ...this.containers]) s.stop(graceMs);
    await this.finished;
  }

  /** Removes the pod's runtime directory (volumes, termination logs); logs stay. */
  cleanup(): void {
    rmSync(this.podDir, { recursive: true, force: true });
    this.deps.ips.release(this.pod.metadata.uid);
  }

  private terminate(graceSeconds: number): void {
    this.stop.abort();
    for (const s of [...this.init, ...this.containers]) s.stop(graceSeconds * 1000);
  }

  private async run(): Promise<void> {
    if (isTerminalPhase(this.pod.status?.phase)) {
      // Already finished under an earlier kubelet: nothing to run.
      this.enter("finished");
      this.publisher.last = this.pod.status;
      if (this.lifecycle.deletion !== "none") await this.confirmDeletion();
      return;
    }
    this.adoptEarlierRun();
    this.startTime = this.pod.status?.startTime ?? new Date().toISOString();
    this.publisher.request();
    try {
      this.podIP = this.pod.spec.hostNetwork
        ? this.deps.hostIP
        : this.deps.ips.allocate(this.pod.metadata.uid, this.pod.status?.podIP);
      this.enter("running");
      this.publisher.request();
      if (await this.volumes.setUp(this.stop.signal)) {
        if (await this.runInitContainers()) await Promise.all(this.containers.map((s) => this.runContainer(s)));
      }
    } catch (err) {
      this.log.error({ err: String(err) }, "pod worker failed");
      this.killAll();
    }
    if (this.abandoned) return;
    this.enter("finishing");
    this.publisher.request();
    await this.publisher.flush();
    this.log.info({ phase: this.publisher.last?.phase }, "pod finished");
    this.enter("finished");
    if (this.lifecycle.deletion !== "none") await this.confirmDeletion();
  }

  /**
   * Containers an earlier kubelet started are gone with it: report them as
   * the kubelet does a container that vanished, and let the restart policy
   * decide what happens next.
   */
  private adoptEarlierRun(): void {
    const api = this.pod.status;
    for (const [slots, statuses] of [
      [this.init, api?.initContainerStatuses],
      [this.containers, api?.containerStatuses],
    ] as const) {
      for (const slot of slots) {
        const old = statuses?.find((s) => s.name === slot.spec.name);
        if (!old || !(old.state.running || old.state.terminated)) continue;
        slot.adopt(old.state.running ? terminated(old, lostState()) : old);
      }
    }
  }

  /** Runs the init containers in order; false when the pod cannot proceed. */
  private async runInitContainers(): Promise<boolean> {
    for (const slot of this.init) {
      if (slot.status.state.terminated?.exitCode === 0) continue;
      const ok = await this.runContainer(slot);
      if (!ok) return false;
    }
    return !this.terminating;
  }

  /**
   * Runs a container until it ends for good; true when its last instance
   * exited 0. Exits that the restart policy restarts wait out the crash
   * back-off first.
   */
  private async runContainer(slot: ContainerSlot): Promise<boolean> {
    if (slot.status.state.terminated) {
      const restart = shouldRestart(this.policy, slot.status.state.terminated.exitCode);
      if (!restart) return slot.status.state.terminated.exitCode === 0;
      await slot.waitOutBackOff(Date.now(), this.stop.signal);
    }
    while (!this.terminating) {
      const result: InstanceResult = await slot.runOnce();
      if (this.terminating) break;
      if (!result) {
        await systemClock.sleep(CONFIG_RETRY_MS, this.stop.signal);
        continue;
      }
      if (!shouldRestart(this.policy, result.exitCode)) return result.exitCode === 0;
      if (result.startError) slot.setStatus(waiting(slot.status, "RunContainerError", slot.status.state.terminated?.message));
      await slot.waitOutBackOff(result.finishedAtMs, this.stop.signal);
    }
    return slot.status.state.terminated?.exitCode === 0;
  }

  /** The kubelet's last word on a deleted pod: delete it for good, only if it is still this pod. */
  private async confirmDeletion(): Promise<void> {
    if (this.lifecycle.deletion === "confirming" || this.abandoned) return;
    this.lifecycle.deletion = "confirming";
    const backoff = new JitteredBackoff(WRITE_RETRY);
    for (;;) {
      await this.deps.gate.writable();
      if (this.abandoned) return;
      try {
        await this.deps.api.delete(this.path, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: this.pod.metadata.uid },
        });
        this.log.info("pod deleted");
        return;
      } catch (err) {
        if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
        this.log.warn({ err: String(err) }, "pod deletion failed, retrying");
        await systemClock.sleep(backoff.next());
      }
    }
  }
}
