// One container of a pod across its restarts: builds each instance's
// environment and mounts, launches it, keeps its API status, waits out its
// crash back-off between instances, and stops it the kubelet's way (SIGTERM
// to the process group, SIGKILL after the grace period, never less than 2 s).
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "@resumable/kube-runtime";
import type { Container, ContainerStatus, Pod } from "../../api/types.js";
import type { ImageMap } from "../../config.js";
import { CrashBackoff, crashLoopMessage } from "./crash-backoff.js";
import type { RecordEvent } from "../events.js";
import { exitState, initialStatus, nextInstance, running, startErrorState, terminated, waiting } from "./status.js";
import { ContainerConfigError, containerEnv, expandArgv, type EnvContext, type ObjectLookups } from "./env.js";
import { resolveCommand } from "./image-command.js";
import { launch, type Launched } from "./launcher.js";
import type { Logger } from "../../log.js";
import { containerMounts } from "./mounts.js";
import type { PidFiles } from "./pid-files.js";
import { terminationMessage } from "./termination-message.js";
import { startProbe } from "./probe.js";
import type { PreparedVolume } from "../../storage/volumes.js";

/** kuberuntime's minimumGracePeriodInSeconds. */
const MIN_GRACE_MS = 2_000;
/** What a container on this host sees as its base environment, as an image would provide it. */
const BASE_ENV = { PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };

export interface SlotContext {
  pod(): Pod;
  env(): EnvContext;
  lookups: ObjectLookups;
  volumes(): Map<string, PreparedVolume>;
  imageMap: ImageMap;
  pids: PidFiles;
  /** Per-pod directories: runtime files (removed with the pod) and logs (kept until cluster-down). */
  podDir: string;
  logDir: string;
  log: Logger;
  event: RecordEvent;
  changed(): void;
}

/** How one instance ended; undefined when it could not even be created. */
export type InstanceResult = { exitCode: number; finishedAtMs: number; startError: boolean } | undefined;

export class ContainerSlot {
  status: ContainerStatus;
  private readonly backoff = new CrashBackoff();
  private current?: Launched;
  private instances = 0;
  private killDeadline?: number;
  private killTimer?: NodeJS.Timeout;

  constructor(
    readonly spec: Container,
    podHasInitContainers: boolean,
    private readonly ctx: SlotContext,
  ) {
    this.status = initialStatus(spec, podHasInitContainers);
  }

  setStatus(status: ContainerStatus): void {
    this.status = status;
    this.ctx.changed();
  }

  /** Takes over the status an earlier kubelet reported: the next instance counts as a restart. */
  adopt(status: ContainerStatus): void {
    this.status = status;
    this.instances = 1;
  }

  /**
   * Waits out the crash back-off after an instance that ended at `finishedAtMs`, the
   * container shown as CrashLoopBackOff and a BackOff event posted meanwhile; returns at
   * once when no wait is due (the first restart) or when `stop` aborts.
   */
  async waitOutBackOff(finishedAtMs: number, stop: AbortSignal): Promise<void> {
    const { waitMs, backoffMs } = this.backoff.delayAfterExit(finishedAtMs, Date.now());
    if (waitMs <= 0) return;
    const { name, namespace = "default", uid } = this.ctx.pod().metadata;
    this.setStatus(waiting(this.status, "CrashLoopBackOff", crashLoopMessage(backoffMs, this.spec.name, { name, namespace, uid })));
    this.ctx.event("Warning", "BackOff", `Back-off restarting failed container ${this.spec.name} in pod ${name}_${namespace}(${uid})`, this.spec.name);
    await systemClock.sleep(waitMs, stop);
  }

  /** Runs one instance to its end. A configuration error leaves the container waiting. */
  async runOnce(): Promise<InstanceResult> {
    const { ctx, spec } = this;
    const pod = ctx.pod();
    let env: Record<string, string>;
    let argv: string[];
    let cwd: string;
    try {
      const resolved = resolveCommand(spec, ctx.imageMap);
      env = { ...BASE_ENV, HOSTNAME: pod.metadata.name, ...(await containerEnv(pod, spec, ctx.env(), ctx.lookups)) };
      argv = expandArgv(resolved.argv, env);
      cwd = resolved.cwd ?? "/";
    } catch (err) {
      const reason = err instanceof ContainerConfigError ? "CreateContainerConfigError" : "CreateContainerError";
      this.setStatus(waiting(this.status, reason, (err as Error).message));
      ctx.event("Warning", "Failed", `Error: ${(err as Error).message}`, spec.name);
      return undefined;
    }

    const n = this.instances++;
    const runDir = join(ctx.podDir, "containers", spec.name);
    mkdirSync(runDir, { recursive: true });
    mkdirSync(ctx.logDir, { recursive: true });
    const messageFile = join(runDir, `termination-log-${n}`);
    closeSync(openSync(messageFile, "w", 0o666));
    const logFile = join(ctx.logDir, `${n}.log`);
    const imageID = `sha256:${createHash("sha256").update(JSON.stringify([spec.image ?? "", argv])).digest("hex")}`;

    ctx.event("Normal", "Pulled", `Container image "${spec.image ?? ""}" already present on machine`, spec.name);
    ctx.event("Normal", "Created", `Created container: ${spec.name}`, spec.name);
    const launched = launch(
      { argv, cwd, env, mounts: containerMounts(spec, ctx.volumes(), messageFile), logFile },
      ctx.pids,
    );
    this.current = launched;
    const containerID = `process://${launched.pid}`;
    const started = await launched.started;
    const startedAt = new Date().toISOString();
    const stopProbes: (() => void)[] = [];
    if (started.ok) {
      ctx.log.info({ container: spec.name, pid: launched.pid, argv }, "container started");
      ctx.event("Normal", "Started", `Started container ${spec.name}`, spec.name);
      const up = running(this.status, { containerID, imageID, startedAt, restarted: n > 0 });
      // With a readiness probe, ready waits for the probe to pass.
      this.setStatus(spec.readinessProbe ? { ...up, ready: false } : up);
      const target = { podIP: ctx.env().podIP, pid: launched.pid, env };
      if (spec.readinessProbe) {
        stopProbes.push(startProbe(spec, spec.readinessProbe, target, (ready) => {
          if (this.current === launched) this.setStatus({ ...this.status, ready });
        }));
      }
      if (spec.livenessProbe) {
        stopProbes.push(startProbe(spec, spec.livenessProbe, target, (alive) => {
          if (alive || this.current !== launched) return;
          // The kubelet kills a container that fails its liveness probe; the restart policy does the rest.
          ctx.event("Warning", "Unhealthy", "Liveness probe failed", spec.name);
          this.stop((ctx.pod().spec.terminationGracePeriodSeconds ?? 30) * 1000, `Container ${spec.name} failed liveness probe, will be restarted`);
        }));
      }
    }
    const exitCode = await launched.exited;
    for (const stopProbe of stopProbes) stopProbe();
    this.current = undefined;
    clearTimeout(this.killTimer);
    this.killDeadline = undefined;
    const finishedAtMs = Date.now();
    const finishedAt = new Date(finishedAtMs).toISOString();

    if (!started.ok) {
      const message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: ${started.message}: unknown`;
      ctx.log.warn({ container: spec.name, message }, "container failed to start");
      ctx.event("Warning", "Failed", `Error: ${message}`, spec.name);
      const failed = terminated(nextInstance(this.status, n > 0), startErrorState(message, finishedAt, containerID));
      this.setStatus({ ...failed, imageID });
      return { exitCode: 128, finishedAtMs, startError: true };
    }
    const message = terminationMessage(spec, messageFile, logFile, exitCode);
    ctx.log.info({ container: spec.name, pid: launched.pid, exitCode }, "container exited");
    this.setStatus(terminated(this.status, exitState({ exitCode, message, startedAt, finishedAt, containerID })));
    return { exitCode, finishedAtMs, startError: false };
  }

  /** SIGTERM now, SIGKILL after `graceMs` (at least 2 s); a later, shorter grace wins. */
  stop(graceMs: number, why = `Stopping container ${this.spec.name}`): void {
    const proc = this.current;
    if (!proc) return;
    const deadline = Date.now() + Math.max(graceMs, MIN_GRACE_MS);
    if (this.killDeadline !== undefined && this.killDeadline <= deadline) return;
    if (this.killDeadline === undefined) {
      this.ctx.log.info({ container: this.spec.name, pid: proc.pid, graceMs }, "stopping container");
      this.ctx.event("Normal", "Killing", why, this.spec.name);
      proc.signal("SIGTERM");
    }
    this.killDeadline = deadline;
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => proc.signal("SIGKILL"), deadline - Date.now());
  }

  kill(): void {
    this.current?.signal("SIGKILL");
  }
}
