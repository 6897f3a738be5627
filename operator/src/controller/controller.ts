import type { Logger } from "pino";
import type { TrainingRun } from "../api/trainingrun.js";
import type { OperatorMetrics } from "../metrics/operator-metrics.js";
import type { RunObserver } from "../metrics/run-observer.js";
import type { Action, Decision, EventSpec, Reconcile } from "../model/types.js";
import type { OperatorSettings } from "../model/settings.js";
import { classifyRefusal, failureFields, httpStatus, objectKey, splitKey, type WorkQueue } from "@resumable/kube-runtime";
import type { ClusterWriter } from "./cluster-writer.js";
import { EventRecorder } from "./event-recorder.js";
import { mergePatchBetween } from "./merge-patch.js";
import { observeRun, type RunCache } from "./observe-run.js";
import { RefusalMemory, refusalEvent, refusedCreate } from "./refusals.js";
import { runEvent } from "./run-event.js";

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
  /** `action`: the action that failed (stage "action"). */
  constructor(readonly stage: Stage, readonly failure: unknown, readonly action?: Action) {
    super(`${stage} failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** How a pass ends: when to look again, and whether the key keeps its retry backoff. */
interface PassResult {
  requeueAfterMs?: number | undefined;
  /** The pass told a refused create that is retried: the retry waits out the backoff, which grows. */
  keepBackoff?: boolean;
}

/**
 * The thin loop around the pure reconcile function. Each pass for one run key:
 * 1. builds Observed from the caches alone, and a create refused in the run's previous pass;
 * 2. calls reconcile, once;
 * 3. applies the actions in order (creates tolerate AlreadyExists, deletes NotFound);
 * 4. writes the status once, as a merge patch pinned to the resourceVersion it read, and
 *    only if it changed;
 * 5. hands the events to the recorder, which sends them off the pass, only once that write
 *    succeeded, so a failed pass that is retried does not announce the same transition twice;
 * 6. requeues after requeueAfterMs. Any failure requeues the key with backoff; a refused
 *    create also queues the key at once, for a pass that decides knowing the refusal.
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
  private readonly refusals = new RefusalMemory();

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
        const { requeueAfterMs, keepBackoff } = await this.pass(key);
        if (keepBackoff !== true) queue.forget(key);
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
        // The run's status says why it waits from the next pass on: no need to wait the backoff for that.
        if (this.refusals.has(key)) queue.add(key);
      } finally {
        stopTimer();
        queue.done(key);
      }
    }
  }

  /** One pass, with one decision; resolves with the requeue delay it asked for. */
  private async pass(key: string): Promise<PassResult> {
    const { cache, observer } = this.options;
    const run = cache.run(key);
    if (!run) {
      // Deleted: garbage collection removes its pods; nothing of ours to do but forget it.
      observer.runDeleted(key);
      this.writtenOver.delete(key);
      this.refusals.forget(key);
      return {};
    }
    const { namespace, name } = splitKey(key);
    const stopDecideTimer = this.options.metrics.reconcileDecideDuration.startTimer();
    const observed = observeRun(this.options.cache, run, namespace, name, this.now());
    // Before the lag check: recovery timing wants every pod change as it is seen.
    observer.podsSeen(key, name, run.status, observed.pods, observed.now);
    if (this.cacheBehindOwnWrite(key, run)) return { requeueAfterMs: CACHE_LAG_RECHECK_MS };
    const refused = this.refusals.take(key, run);
    let decision: Decision;
    try {
      decision = this.options.reconcile({ ...observed, ...refused }, this.options.settings);
    } catch (err) {
      throw new PassError("reconcile", err);
    } finally {
      stopDecideTimer();
    }
    // The attempt the decision is about, e.g. the new one whose pod it creates.
    const log = this.options.logger.child({ namespace, run: name, attempt: decision.status.attempt ?? 0 });
    try {
      for (const batch of batches(decision.actions)) {
        // A gang's N creates (deletes, peers) in one round trip; all finish before a failure counts.
        const failed = (await Promise.allSettled(batch.map((a) => this.apply(run, a, observed.now, log)))).find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
      }
    } catch (err) {
      const refusedNow = err instanceof PassError && err.action !== undefined ? refusedCreate(err.action, err.failure) : undefined;
      if (refusedNow === undefined) throw err;
      // Learned too late for this decision, whose status records a pod that does not exist:
      // it is not written, and the next pass decides knowing the refusal.
      this.refusals.remember(key, run, refusedNow);
      // A refusal that may pass is retried with backoff: the pass fails.
      if (refusedNow.podRejection === undefined) throw err;
      // The run's own fields make a pod the API refuses: sending it again can never work.
      log.warn({ ...failureFields((err as PassError).failure) }, "the apiserver refused the pod as invalid; the run is Valid=False until its spec changes");
      return { requeueAfterMs: 0 };
    }
    await this.writeStatus(run, decision, observed.now, log);
    this.emitEvents(run, decision, observed.now);
    return { requeueAfterMs: decision.requeueAfterMs, keepBackoff: refused.podRefusal !== undefined };
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
        case "createService":
          log.info({ service: action.service.metadata?.name }, "creating the gang's headless service");
          return await writer.createService(namespace, action.service);
        case "annotatePod":
        case "annotateClaim": {
          log.info({ [action.kind === "annotatePod" ? "pod" : "pvc"]: action.name, annotation: action.annotation, value: action.value }, action.purpose);
          const patch = action.kind === "annotatePod" ? writer.patchPodAnnotation.bind(writer) : writer.patchClaimAnnotation.bind(writer);
          return await patch(namespace, action.name, action.uid, action.annotation, action.value);
        }
      }
    } catch (err) {
      const refusal = classifyRefusal(err);
      const told = refusal === undefined ? undefined : refusalEvent(action, refusal, httpStatus(err));
      if (told !== undefined) this.emitEvent(run, told, now);
      if (action.kind === "annotatePod" || action.kind === "annotateClaim") {
        // Best effort: a failed ask must not hold back the pass's other actions and its status
        // write while a reclaim is coming. The next pass asks again (the object lacks the value).
        log.warn({ name: action.name, ...failureFields(err) }, `could not annotate ${action.kind === "annotatePod" ? "the pod" : "the claim"} (${action.purpose}); trying again on the next pass`);
        return;
      }
      if (action.kind === "createService") {
        // A bonus for clusters with DNS (the peers file is what a gang needs): never a reason
        // to hold back its pods. The next gang attempt creates it again.
        log.warn({ service: action.service.metadata?.name, ...failureFields(err) }, "could not create the gang's headless service; the gang runs without it");
        return;
      }
      throw new PassError("action", err, action);
    }
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

/** The actions in order, consecutive ones of the same kind together: a kind never overtakes another. */
function batches(actions: readonly Action[]): Action[][] {
  const out: Action[][] = [];
  for (const action of actions) {
    const last = out.at(-1);
    if (last !== undefined && last[0]!.kind === action.kind) last.push(action);
    else out.push([action]);
  }
  return out;
}
