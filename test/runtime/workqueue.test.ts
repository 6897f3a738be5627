import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock, WorkQueue } from "@resumable/kube-runtime";

/** Resolves with what a pending promise settled to, or "pending" if it has not yet. */
async function peek<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

/** The next `n` keys the queue hands out, in order. */
async function take(queue: WorkQueue, n: number): Promise<(string | undefined)[]> {
  const keys = [];
  for (let i = 0; i < n; i++) keys.push(await queue.get());
  return keys;
}

describe("WorkQueue", () => {
  it("holds a key once however often it is added", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    assert.equal(queue.depth(), 2);
    assert.equal(await queue.get(), "ns/a");
    assert.equal(await queue.get(), "ns/b");
    assert.equal(queue.depth(), 0);
  });

  it("never hands out a key twice at once, and re-runs a key added while in flight", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    queue.add("ns/a");
    const first = await queue.get();
    assert.equal(first, "ns/a");
    queue.add("ns/a");
    queue.add("ns/a");
    const second = queue.get();
    assert.equal(await peek(second), "pending", "a second worker must not get the key in flight");
    queue.done("ns/a");
    assert.equal(await second, "ns/a", "the re-added key comes back once the first worker is done");
    queue.done("ns/a");
    assert.equal(await peek(queue.get()), "pending", "and only once");
  });

  it("hands out every urgent key before any routine one, each lane in the order added", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    queue.add("ns/progress-1", "routine");
    queue.add("ns/progress-2", "routine");
    queue.add("ns/preempted-1");
    queue.add("ns/preempted-2", "urgent");
    assert.equal(queue.depth(), 4, "depth counts both lanes");
    assert.deepEqual(await take(queue, 4), ["ns/preempted-1", "ns/preempted-2", "ns/progress-1", "ns/progress-2"]);
  });

  it("moves a routine key added again as urgent ahead, and never demotes an urgent one", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    queue.add("ns/a", "routine");
    queue.add("ns/b", "routine");
    queue.add("ns/c");
    queue.add("ns/b", "urgent");
    queue.add("ns/c", "routine");
    assert.equal(queue.depth(), 3, "still held once each");
    assert.deepEqual(await take(queue, 3), ["ns/c", "ns/b", "ns/a"]);
  });

  it("a key made urgent while in flight comes back in the urgent lane", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    queue.add("ns/a", "routine");
    assert.equal(await queue.get(), "ns/a");
    queue.add("ns/a", "routine");
    queue.add("ns/a", "urgent");
    queue.add("ns/b", "routine");
    queue.done("ns/a");
    assert.equal(await queue.get(), "ns/a", "ahead of the routine key added before it came back");
    queue.done("ns/a");
    assert.equal(await queue.get(), "ns/b");
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    const next = queue.get();
    assert.equal(await peek(next), "pending");
    queue.add("ns/a");
    assert.equal(await next, "ns/a");
  });

  it("backs a failing key off exponentially and forgets on success", async () => {
    const clock = new ManualClock();
    const retries: string[] = [];
    const queue = new WorkQueue({
      clock,
      rateLimit: { baseDelayMs: 5, maxDelayMs: 1_000_000 },
      onRetry: (key) => retries.push(key),
    });
    const waits: number[] = [];
    for (let failure = 0; failure < 5; failure++) {
      queue.addRateLimited("ns/a");
      const start = clock.now();
      while (queue.depth() === 0) clock.advance(1);
      waits.push(clock.now() - start);
      assert.equal(await queue.get(), "ns/a");
      queue.done("ns/a");
    }
    assert.deepEqual(waits, [5, 10, 20, 40, 80]);
    assert.equal(queue.retries("ns/a"), 5);
    assert.equal(retries.length, 5);
    queue.forget("ns/a");
    assert.equal(queue.retries("ns/a"), 0);
  });

  it("caps the per-key backoff", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock, rateLimit: { baseDelayMs: 5, maxDelayMs: 1_000_000 } });
    for (let i = 0; i < 40; i++) {
      queue.addRateLimited("ns/a");
      clock.advance(1_000_000);
      queue.done((await queue.get())!);
    }
    queue.addRateLimited("ns/a");
    clock.advance(999_999);
    assert.equal(queue.depth(), 0);
    clock.advance(1);
    assert.equal(queue.depth(), 1);
  });

  it("spaces retries across keys with the global bucket", () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({
      clock,
      rateLimit: { baseDelayMs: 1, maxDelayMs: 1, globalPerSecond: 10, globalBurst: 2 },
    });
    for (const key of ["a", "b", "c", "d"]) queue.addRateLimited(key);
    clock.advance(1);
    assert.equal(queue.depth(), 2, "the burst goes at once");
    clock.advance(100);
    assert.equal(queue.depth(), 3, "then one per 1/rate");
    clock.advance(100);
    assert.equal(queue.depth(), 4);
  });

  it("adds after a delay, keeping the earliest of several", () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    queue.addAfter("ns/a", 1000);
    queue.addAfter("ns/a", 300);
    queue.addAfter("ns/a", 5000);
    clock.advance(299);
    assert.equal(queue.depth(), 0);
    clock.advance(1);
    assert.equal(queue.depth(), 1);
    clock.advance(10_000);
    assert.equal(queue.depth(), 1, "the later timers were dropped");
  });

  it("shuts down: waiting workers get undefined, in-flight keys drain, new adds are ignored", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    queue.add("ns/a");
    const inFlight = await queue.get();
    const waiting = queue.get();
    queue.addAfter("ns/b", 100);
    const shutDown = queue.shutDown();
    assert.equal(await waiting, undefined);
    assert.equal(await peek(shutDown), "pending", "shutdown waits for the key in flight");
    queue.add("ns/c");
    assert.equal(queue.depth(), 0);
    assert.equal(clock.pendingTimers(), 0, "delayed adds are cancelled");
    queue.done(inFlight!);
    await shutDown;
    assert.equal(await queue.get(), undefined);
  });
});
