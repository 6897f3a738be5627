import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import { httpStatus } from "./api-errors.js";
import { systemClock, withTimeout, type Clock } from "./clock.js";
import type { Logger } from "./logger.js";

export interface LeaderElectionOptions {
  api: Pick<CoordinationV1Api, "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease">;
  namespace: string;
  name: string;
  /** Who we are in the Lease: the pod name, or hostname and pid. */
  identity: string;
  logger: Logger;
  /** client-go's defaults: 15 s lease, 10 s to renew, a try every 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
 * - a lease held by someone else counts as expired only when its record has not changed
 *   for a whole lease duration *by our own clock*, so clock skew between replicas is harmless;
 * - writes go through replace with the read resourceVersion: of two contenders one wins;
 * - a leader that cannot renew within the renew deadline gives up (and the process exits);
 * - on shutdown the leader empties the holder, so a successor takes over at once instead of
 *   waiting out the lease.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** The last lease record we saw and when (our clock) it last changed. */
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  /** Cuts short the wait between acquire rounds. */
  private readonly stopWaiting = new AbortController();
  private lostListeners: (() => void)[] = [];
  /** The lease round in progress: release waits for it so it cannot re-take the lease. */
  private round: Promise<boolean> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Called once if leadership is lost after it was acquired. */
  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** Resolves true once we lead (and keeps renewing), or false if stopped first. */
  async acquire(): Promise<boolean> {
    const log = this.options.logger;
    log.info({ lease: this.options.name, identity: this.options.identity }, "waiting for leadership");
    while (!this.stopped) {
      if ((await this.runRound()) && !this.stopped) {
        this.leading = true;
        log.info({ lease: this.options.name, identity: this.options.identity }, "became leader");
        this.scheduleRenew(this.clock.now());
        return true;
      }
      await this.clock.sleep(this.retryPeriodMs, this.stopWaiting.signal);
    }
    return false;
  }

  /** Stops renewing and, if the lease names us, hands it back. */
  async release(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.stopWaiting.abort();
    await this.round;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      lease.spec.holderIdentity = "";
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime(this.clock.now());
      await this.options.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body: lease,
      });
      this.options.logger.info({ lease: this.options.name }, "released leadership");
    } catch (err) {
      this.options.logger.warn({ err, lease: this.options.name }, "could not release the lease; it will expire");
    }
  }

  private scheduleRenew(lastRenewal: number): void {
    this.cancelTimer = this.clock.setTimer(this.retryPeriodMs, () => {
      void this.runRound().then((renewed) => {
        if (this.stopped) return;
        const now = this.clock.now();
        if (renewed) return this.scheduleRenew(now);
        if (now - lastRenewal < this.renewDeadlineMs) return this.scheduleRenew(lastRenewal);
        this.leading = false;
        this.stopped = true;
        this.options.logger.error({ lease: this.options.name }, "lost leadership: could not renew the lease in time");
        for (const listener of this.lostListeners.splice(0)) listener();
      });
    });
  }

  /**
   * One round, bounded by half the renew deadline (as client-go bounds its lease client):
   * a request hung on a dead connection must count as a failed renewal, or a leader would
   * never notice it lost the lease while another replica takes over.
   */
  private runRound(): Promise<boolean> {
    const limitMs = this.renewDeadlineMs / 2;
    this.round = withTimeout(this.clock, this.tryAcquireOrRenew(), limitMs, `lease round timed out after ${limitMs} ms`).catch((err: unknown) => {
      this.options.logger.warn({ err, lease: this.options.name }, "lease round failed");
      return false;
    });
    return this.round;
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.options.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  /** One round: true if we hold the lease afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, name, namespace, logger } = this.options;
    const now = this.clock.now();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: new V1MicroTime(now),
    };
    try {
      const lease = await this.read();
      if (!lease) {
        await this.options.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: new V1MicroTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      }
      const held = lease.spec ?? {};
      // Timestamps of a read lease stay strings (client-node has no model for MicroTime).
      const record = JSON.stringify([held.holderIdentity, String(held.renewTime), held.leaseDurationSeconds]);
      if (this.observed?.record !== record) this.observed = { record, at: now };
      const holder = held.holderIdentity ?? "";
      const holderLeaseMs = (held.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== "" && holder !== identity && now - this.observed.at < holderLeaseMs) return false;
      const takingOver = holder !== identity;
      lease.spec = {
        ...held,
        ...spec,
        acquireTime: takingOver ? new V1MicroTime(now) : held.acquireTime,
        leaseTransitions: (held.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
      };
      await this.options.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      // 409: another replica wrote first; anything else: try again next round.
      if (httpStatus(err) !== 409) logger.warn({ err, lease: name }, "lease round failed");
      return false;
    }
  }
}
