import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Lease } from "@kubernetes/client-node";
import { pino } from "pino";
import { LeaderElector, ManualClock } from "@resumable/kube-runtime";

/** One Lease with the apiserver's optimistic concurrency: stale writes get 409. */
class FakeLeases {
  lease: V1Lease | undefined;
  private version = 0;
  failing = false;

  private check(): void {
    if (this.failing) throw Object.assign(new Error("unavailable"), { code: 503 });
  }

  private stored(body: V1Lease): V1Lease {
    this.lease = JSON.parse(JSON.stringify({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } }));
    return this.lease!;
  }

  readNamespacedLease = async (): Promise<V1Lease> => {
    this.check();
    if (!this.lease) throw Object.assign(new Error("not found"), { code: 404 });
    return JSON.parse(JSON.stringify(this.lease));
  };

  createNamespacedLease = async ({ body }: { body: V1Lease }): Promise<V1Lease> => {
    this.check();
    if (this.lease) throw Object.assign(new Error("exists"), { code: 409 });
    return this.stored(body);
  };

  replaceNamespacedLease = async ({ body }: { body: V1Lease }): Promise<V1Lease> => {
    this.check();
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      throw Object.assign(new Error("conflict"), { code: 409 });
    }
    return this.stored(body);
  };
}

/** A replica's own link to the fake apiserver, which the test can cut. */
function link(api: FakeLeases): { api: FakeLeases; cut: () => void } {
  let up = true;
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      up ? call(...args) : Promise.reject(Object.assign(new Error("partitioned"), { code: 503 }));
  const view = {
    readNamespacedLease: guard(api.readNamespacedLease),
    createNamespacedLease: guard(api.createNamespacedLease),
    replaceNamespacedLease: guard(api.replaceNamespacedLease),
  };
  return { api: view as unknown as FakeLeases, cut: () => (up = false) };
}

/** Lets pending promise callbacks (fake API calls) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function elector(api: FakeLeases, clock: ManualClock, identity: string): LeaderElector {
  return new LeaderElector({
    api: api as never,
    namespace: "ops",
    name: "resumable-operator",
    identity,
    logger: pino({ level: "silent" }),
    clock,
  });
}

describe("LeaderElector", () => {
  it("lets one of two replicas lead; the other takes over at once when the leader releases", async () => {
    const api = new FakeLeases();
    const clock = new ManualClock(1_000_000);
    const first = elector(api, clock, "a");
    const second = elector(api, clock, "b");
    assert.equal(await first.acquire(), true);
    let secondLeads = false;
    const waiting = second.acquire().then((led) => (secondLeads = led));
    for (let i = 0; i < 20; i++) {
      clock.advance(2_000);
      await settle();
    }
    assert.equal(secondLeads, false, "a renewed lease is never taken");
    assert.equal(api.lease?.spec?.holderIdentity, "a");
    await first.release();
    assert.equal(api.lease?.spec?.holderIdentity, "");
    clock.advance(2_000);
    await waiting;
    assert.equal(secondLeads, true);
    assert.equal(api.lease?.spec?.holderIdentity, "b");
    assert.equal(api.lease?.spec?.leaseTransitions, 1);
    await second.release();
  });

  it("takes over a lease whose holder is cut off, once it has been stale a lease duration", async () => {
    const api = new FakeLeases();
    const clock = new ManualClock(1_000_000);
    const partitioned = link(api);
    await elector(partitioned.api, clock, "a").acquire();
    partitioned.cut();
    const successor = elector(api, clock, "b");
    let leads = false;
    const waiting = successor.acquire().then((led) => (leads = led));
    await settle();
    assert.equal(leads, false);
    for (let i = 0; i < 10 && !leads; i++) {
      clock.advance(2_000);
      await settle();
      await settle();
    }
    await waiting;
    assert.equal(leads, true);
    assert.equal(api.lease?.spec?.holderIdentity, "b");
    await successor.release();
  });

  it("stops waiting for the lease when released as a standby, leaving the leader alone", async () => {
    const api = new FakeLeases();
    const clock = new ManualClock(1_000_000);
    await elector(api, clock, "a").acquire();
    const standby = elector(api, clock, "b");
    const waiting = standby.acquire();
    await settle();
    await standby.release();
    assert.equal(await waiting, false);
    assert.equal(api.lease?.spec?.holderIdentity, "a");
  });

  it("gives up leadership when it cannot renew within the deadline", async () => {
    const api = new FakeLeases();
    const clock = new ManualClock(1_000_000);
    const leader = elector(api, clock, "a");
    await leader.acquire();
    let lost = false;
    leader.onLost(() => (lost = true));
    api.failing = true;
    for (let i = 0; i < 10 && !lost; i++) {
      clock.advance(2_000);
      await settle();
    }
    assert.equal(lost, true);
    assert.equal(leader.isLeader(), false);
  });

  it("gives up leadership when its renewals hang instead of failing", async () => {
    const api = new FakeLeases();
    const clock = new ManualClock(1_000_000);
    const leader = elector(api, clock, "a");
    await leader.acquire();
    let lost = false;
    leader.onLost(() => (lost = true));
    // A dead connection: the request is sent and never answered.
    api.readNamespacedLease = () => new Promise<V1Lease>(() => {});
    for (let i = 0; i < 20 && !lost; i++) {
      clock.advance(1_000);
      await settle();
    }
    assert.equal(lost, true, "a hung renewal counts as a failed one");
    assert.equal(leader.isLeader(), false);
  });
});
