import type { Logger } from "pino";
import type { TrainingRun } from "../api/trainingrun.js";
import type { OperatorMetrics } from "../metrics/operator-metrics.js";
import type { RunObserver } from "../metrics/run-observer.js";
import { checkpointClaimName } from "../model/observe.js";
import type { Action, Decision, EventSpec, Observed, PodRefusal, Reconcile } from "../model/types.js";
import type { OperatorSettings } from "../model/settings.js";
import { classifyRefusal, failureFields, httpStatus, objectKey, splitKey, type Refusal, type WorkQueue } from "@resumable/kube-runtime";
import type { ClusterCache } from "./cluster-cache.js";
import type { ClusterWriter } from "./cluster-writer.js";
import { EventRecorder } from "./event-recorder.js";
import { mergePatchBetween } from "./merge-patch.js";
import { runEvent } from "./run-event.js";

/** What a pass reads: the caches, nothing else. */
export type RunCache = Pick<ClusterCache, "run" | "podsOfRun" | "podsOnNode" | "mountFailuresOf" | "pvc" | "nodes" | "onRunChange" | "runsSharingStorage" | "podsSharingStorage">;

export interface ControllerOptions {
  cache: RunCache;
  queue: WorkQueue;
  writer: ClusterWriter;
  reconcile: Reconcile;
  settings: OperatorSettings;
  metrics: OperatorMetrics;
  observer: RunObserver;
  logger: Logger;
  /** Names this replica in the events it writes (pod name or hostname). */
  instance: string;
  workers: number;
  now?: () => Date;
}

/** How soon to look again while the cache has not caught up with our own status write. */
const CACHE_LAG_RECHECK_MS = 1_000;
/** After this long, decide from the cache as it is, even if it still looks stale. */
const CACHE_LAG_GIVE_UP_MS = 10_000;

/** How long stop() waits for buffered events to be sent. */
const EVENT_FLUSH_MS = 5_000;

/** Which write of a pass failed: a metrics label and a log field. */
type Stage = "reconcile" | "action" | "status" | "event";

class PassError extends Error {
  constructor(
    readonly stage: Stage,
    readonly failure: unknown,
    /** The action that failed (stage "action"). */
    readonly action?: Action,
  ) {
    super(`${stage} failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** The Job controller's reason for a refused write; a refusal with a kind of its own gets its own. */
const REFUSAL_REASONS: Record<Refusal["kind"], string | undefined> = {
  quota: "QuotaExceeded",
  admission: "AdmissionRefused",
  forbidden: "Forbidden",
  invalid: undefined,
  other: undefined,
};

/**
 * The thin loop around the pure reconcile function. Each pass for one run key:
 * 1. builds Observed from the caches alone;
 * 2. calls reconcile;
 * 3. applies the actions in order (creates tolerate AlreadyExists, deletes NotFound);
 * 4. writes the status once, as a merge patch pinned to the resourceVersion it read, and
 *    only if it changed;
 * 5. hands the events to the recorder, which sends them off the pass, only once that write
 *    succeeded, so a failed pass that is retried does not announce the same transition twice;
 * 6. requeues after requeueAfterMs. Any failure requeues the key with backoff.
 */
export class Controller {
  private readonly now: () => Date;
  /**
   * Per run key, the resourceVersion our last status write was based on. While the cache
   * still shows that version it has not seen our own write: a pass would decide from a
   * stale status and its write would only fail with 409, so it waits for the watch event.
   */
  private readonly writtenOver = new Map<string, { resourceVersion: string; at: number }>();
  private workers: Promise<void>[] = [];
  private readonly events: EventRecorder;

  constructor(private readonly options: ControllerOptions) {
    this.now = options.now ?? (() => new Date());
    this.events = new EventRecorder({
      write: (namespace, event) => options.writer.createEvent(namespace, event),
      // The status is written: retrying the pass would not bring an event back (the next
      // pass sees no transition), so a lost event is logged and counted, not retried.
      onFailure: (event, failure) => {
        options.metrics.reconcileErrors.inc({ stage: "event" });
        const where = { namespace: event.metadata?.namespace, run: event.involvedObject.name, event: event.reason };
        if (failure === "dropped") options.logger.warn(where, "event dropped: too many waiting to be sent");
        else options.logger.warn({ ...where, ...failureFields(failure) }, "could not emit event");
      },
    });
  }

  /** Subscribes the queue to the caches' run changes; call before the caches start. */
  subscribe(): void {
    this.options.cache.onRunChange((key, priority) => this.options.queue.add(key, priority));
  }

  start(): void {
    this.workers = Array.from({ length: this.options.workers }, () => this.work());
  }

  /**
   * Lets passes in flight finish and, for up to EVENT_FLUSH_MS, their events go out; queued
   * keys are left to the next leader. The bound: with the apiserver slow or gone, a thousand
   * buffered events would otherwise hold the leader Lease until the pod is killed.
   */
  async stop(): Promise<void> {
    await this.options.queue.shutDown();
    await Promise.all(this.workers);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.events.flush(), new Promise<void>((resolve) => { timer = setTimeout(resolve, EVENT_FLUSH_MS); })]);
    clearTimeout(timer);
  }

  /** Resolves once every event the passes so far handed over has been sent (or failed). */
  eventsSent(): Promise<void> {
    return this.events.flush();
  }

  private async work(): Promise<void> {
    const { queue, metrics, logger } = this.options;
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      const stopTimer = metrics.reconcileDuration.startTimer();
      try {
        const requeueAfterMs = await this.pass(key);
        queue.forget(key);
        if (requeueAfterMs !== undefined) queue.addAfter(key, requeueAfterMs);
        metrics.reconciles.inc({ result: "success" });
      } catch (err) {
        const stage = err instanceof PassError ? err.stage : "reconcile";
        metrics.reconciles.inc({ result: "error" });
        metrics.reconcileErrors.inc({ stage });
        const { namespace, name } = splitKey(key);
        // From the cache, as the failed pass saw it: the attempt the failure is about.
        const where = { namespace, run: name, attempt: this.options.cache.run(key)?.status?.attempt ?? 0, stage };
        const failure = err instanceof PassError ? err.failure : err;
        if (httpStatus(failure) === 409) {
          logger.debug(where, "conflict with a newer version, retrying");
        } else {
          logger.warn({ ...where, ...failureFields(failure) }, "reconcile failed, retrying");
        }
        queue.addRateLimited(key);
      } finally {
        stopTimer();
        queue.done(key);
      }
    }
  }

  /** One pass; resolves with the requeue delay the decision asked for. */
  private async pass(key: string): Promise<number | undefined> {
    const { cache, observer } = this.options;
    const run = cache.run(key);
    if (!run) {
      // Deleted: garbage collection removes its pods; nothing of ours to do but forget it.
      observer.runDeleted(key);
      this.writtenOver.delete(key);
      return undefined;
    }
    const { namespace, name } = splitKey(key);
    const stopDecideTimer = this.options.metrics.reconcileDecideDuration.startTimer();
    const observed = this.observe(run, namespace, name);
    // Before the lag check: recovery timing wants every pod change as it is seen.
    observer.podsSeen(key, name, run.status, observed.pods, observed.now);
    if (this.cacheBehindOwnWrite(key, run)) return CACHE_LAG_RECHECK_MS;
    let decision: Decision;
    try {
      decision = this.options.reconcile(observed, this.options.settings);
    } catch (err) {
      throw new PassError("reconcile", err);
    } finally {
      stopDecideTimer();
    }
    // The attempt the decision is about, e.g. the new one whose pod it creates.
    let log = this.options.logger.child({ namespace, run: name, attempt: decision.status.attempt ?? 0 });
    try {
      for (const action of decision.actions) await this.apply(run, action, observed.now, log);
    } catch (err) {
      const podRejection = invalidPod(err);
      if (podRejection === undefined) {
        const podRefusal = retriedRefusal(err);
        if (podRefusal !== undefined) await this.tellWhyWaiting(run, observed, podRefusal, log);
        throw err;
      }
      // The run's own fields make a pod the API refuses: sending it again can never work.
      // Decide once more knowing that; the decision (Valid=False, no pod) is written instead.
      log.warn({ ...failureFields((err as PassError).failure) }, "the apiserver refused the pod as invalid; the run is Valid=False until its spec changes");
      try {
        decision = this.options.reconcile({ ...observed, podRejection }, this.options.settings);
      } catch (again) {
        throw new PassError("reconcile", again);
      }
      log = this.options.logger.child({ namespace, run: name, attempt: decision.status.attempt ?? 0 });
      for (const action of decision.actions) await this.apply(run, action, observed.now, log);
    }
    await this.writeStatus(run, decision, observed.now, log);
    this.emitEvents(run, decision, observed.now);
    return decision.requeueAfterMs;
  }

  /**
   * A create refused for a reason that may pass is retried with backoff (the pass fails), but
   * the run's status says why it waits: decided again knowing the refusal, and only that
   * decision's status and events are written (its actions would be refused again; the
   * refusal's Warning event is already out).
   */
  private async tellWhyWaiting(run: TrainingRun, observed: Observed, podRefusal: PodRefusal, log: Logger): Promise<void> {
    let decision: Decision;
    try {
      decision = this.options.reconcile({ ...observed, podRefusal }, this.options.settings);
    } catch (err) {
      throw new PassError("reconcile", err);
    }
    await this.writeStatus(run, decision, observed.now, log);
    // Transitions this pass recorded besides the refusal (an attempt's end, a notice) are in
    // the status now: no later pass sees them again, so their events go out here.
    this.emitEvents(run, decision, observed.now);
  }

  /** True while the cached run is still the version our last status write replaced. */
  private cacheBehindOwnWrite(key: string, run: TrainingRun): boolean {
    const written = this.writtenOver.get(key);
    if (written === undefined) return false;
    const behind = run.metadata.resourceVersion === written.resourceVersion;
    // Never wait forever on a watch event that may have been lost: a relist repairs the cache.
    if (behind && this.now().getTime() - written.at < CACHE_LAG_GIVE_UP_MS) return true;
    this.writtenOver.delete(key);
    return false;
  }

  private observe(run: TrainingRun, namespace: string, name: string): Observed {
    const { cache } = this.options;
    const pvc = cache.pvc(namespace, checkpointClaimName(run));
    const nodes = cache.nodes();
    const pods = cache.podsOfRun(namespace, name);
    const mountFailures = pods.flatMap((pod) => cache.mountFailuresOf(namespace, pod));
    return {
      run,
      pods,
      ...(mountFailures.length > 0 ? { mountFailures } : {}),
      ...(pvc ? { pvc } : {}),
      nodes,
      otherRuns: cache.runsSharingStorage(run),
      otherPods: cache.podsSharingStorage(run),
      podsOnNode: (node) => cache.podsOnNode(node),
      now: this.now(),
    };
  }

  private async apply(run: TrainingRun, action: Action, now: Date, log: Logger): Promise<void> {
    const { writer } = this.options;
    const namespace = run.metadata.namespace ?? "";
    try {
      switch (action.kind) {
        case "createPod":
          log.info({ pod: action.pod.metadata?.name }, "creating pod");
          return await writer.createPod(namespace, action.pod);
        case "createPVC":
          log.info({ pvc: action.pvc.metadata?.name }, "creating checkpoint claim");
          return await writer.createPvc(namespace, action.pvc);
        case "deletePod":
          log.info({ pod: action.name, reason: action.reason, gracePeriodSeconds: action.gracePeriodSeconds }, "deleting pod");
          return await writer.deletePod(namespace, action.name, action);
        case "requestCheckpoint":
          log.info({ pod: action.name, request: action.value }, "asking the trainer for a checkpoint (reclaim notice)");
          return await writer.patchPodAnnotation(namespace, action.name, action.uid, action.annotation, action.value);
      }
    } catch (err) {
      const refusal = classifyRefusal(err);
      // An invalid pod is told through the Valid condition and its event, once.
      const invalidPod = refusal?.kind === "invalid" && action.kind === "createPod";
      if (refusal && !invalidPod) this.reportRefusal(run, action, refusal, httpStatus(err), now);
      if (action.kind === "requestCheckpoint") {
        // Best effort: a failed ask must not hold back the pass's other actions and its status
        // write while a reclaim is coming. The next pass asks again (the pod lacks the id).
        log.warn({ pod: action.name, ...failureFields(err) }, "could not ask the trainer for a checkpoint; asking again on the next pass");
        return;
      }
      throw new PassError("action", err, action);
    }
  }

  /**
   * A write the apiserver refused for a reason that may go away (quota, admission, RBAC) is
   * retried with backoff like any failure, but also told to the user as a Warning event on
   * the run, as the Job controller's FailedCreate: otherwise only the operator's log would
   * know why nothing happens. An invalid pod is not retried (see pass()).
   */
  private reportRefusal(run: TrainingRun, action: Action, refusal: Refusal, status: number | undefined, now: Date): void {
    const [failed, what] =
      action.kind === "createPod" ? ["FailedCreate", `creating pod ${action.pod.metadata?.name}`]
      : action.kind === "createPVC" ? ["FailedCreate", `creating claim ${action.pvc.metadata?.name}`]
      : action.kind === "requestCheckpoint" ? ["FailedPatch", `asking pod ${action.name} for a checkpoint`]
      : ["FailedDelete", `deleting pod ${action.name}`];
    const reason = REFUSAL_REASONS[refusal.kind] ?? failed;
    const message = `Error ${what}: ${refusal.message} (HTTP ${status}; retrying)`;
    this.emitEvent(run, { type: "Warning", reason, message }, now);
  }

  private async writeStatus(run: TrainingRun, decision: Decision, now: Date, log: Logger): Promise<void> {
    const patch = mergePatchBetween(run.status ?? {}, decision.status);
    if (patch === undefined) return;
    try {
      await this.options.writer.patchRunStatus(
        run.metadata.namespace ?? "",
        run.metadata.name ?? "",
        run.metadata.resourceVersion ?? "",
        patch,
      );
    } catch (err) {
      throw new PassError("status", err);
    }
    log.debug({ phase: decision.status.phase }, "status written");
    this.writtenOver.set(objectKey(run), {
      resourceVersion: run.metadata.resourceVersion ?? "",
      at: now.getTime(),
    });
    this.options.observer.statusWritten(run.status, decision.status, now);
  }

  /** Hands the events to the recorder, which sends them off the pass. */
  private emitEvents(run: TrainingRun, decision: Decision, now: Date): void {
    for (const spec of decision.events) this.emitEvent(run, spec, now);
  }

  private emitEvent(run: TrainingRun, spec: EventSpec, now: Date): void {
    this.events.record(run.metadata.namespace ?? "", runEvent(run, spec, now, this.options.instance));
  }
}

/** The reason and message of a create the apiserver refused for a reason that may pass. */
function retriedRefusal(err: unknown): PodRefusal | undefined {
  if (!(err instanceof PassError) || (err.action?.kind !== "createPod" && err.action?.kind !== "createPVC")) return undefined;
  const refusal = classifyRefusal(err.failure);
  const reason = refusal === undefined ? undefined : REFUSAL_REASONS[refusal.kind];
  return refusal !== undefined && reason !== undefined ? { reason, message: refusal.message } : undefined;
}

/** The apiserver's verdict when a failed pass was a pod it refused as invalid. */
function invalidPod(err: unknown): { message: string; causes: { field: string; message: string }[] } | undefined {
  if (!(err instanceof PassError) || err.action?.kind !== "createPod") return undefined;
  const refusal = classifyRefusal(err.failure);
  return refusal?.kind === "invalid" ? { message: refusal.message, causes: refusal.causes } : undefined;
}
