// Events go out off the reconcile pass, as client-go's recorder sends them: the pass never
// waits for one, a full buffer drops (and says so), a refused event is reported, not retried.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CoreV1Event } from "@kubernetes/client-node";
import { EventRecorder } from "../../operator/src/controller/event-recorder.js";

const event = (reason: string): CoreV1Event => ({ metadata: { namespace: "team" }, involvedObject: { name: "mnist" }, reason });

/** A write that stays pending until the test releases it. */
function heldWrites() {
  const started: string[] = [];
  const release: (() => void)[] = [];
  const write = (_ns: string, e: CoreV1Event) => {
    started.push(e.reason ?? "");
    return new Promise<void>((resolve) => release.push(resolve));
  };
  return { started, release, write };
}

describe("EventRecorder", () => {
  it("record returns at once while the write is in flight; flush waits for it", async () => {
    const w = heldWrites();
    const recorder = new EventRecorder({ write: w.write, onFailure: () => assert.fail("no failure expected") });
    recorder.record("team", event("PodCreated"));
    assert.deepEqual(w.started, ["PodCreated"], "the send starts at once");
    let flushed = false;
    const flush = recorder.flush().then(() => { flushed = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(flushed, false, "flush waits for the write in flight");
    w.release[0]!();
    await flush;
    assert.equal(flushed, true);
  });

  it("sends at most `concurrency` at once, starting them in the order recorded", async () => {
    const w = heldWrites();
    const recorder = new EventRecorder({ write: w.write, onFailure: () => {}, concurrency: 2 });
    for (const r of ["a", "b", "c", "d"]) recorder.record("team", event(r));
    assert.deepEqual(w.started, ["a", "b"]);
    w.release[0]!();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(w.started, ["a", "b", "c"]);
    for (let i = 1; i < 4; i++) { w.release[i]?.(); await new Promise((r) => setImmediate(r)); }
    w.release[3]?.();
    await recorder.flush();
    assert.deepEqual(w.started, ["a", "b", "c", "d"]);
  });

  it("drops the newest events when `capacity` are waiting, and reports each drop", async () => {
    const w = heldWrites();
    const failures: [string, unknown][] = [];
    const recorder = new EventRecorder({ write: w.write, onFailure: (e, f) => failures.push([e.reason ?? "", f]), capacity: 2, concurrency: 1 });
    for (const r of ["sending", "w1", "w2", "w3"]) recorder.record("team", event(r));
    assert.deepEqual(failures, [["w3", "dropped"]], "one in flight, two waiting, the fourth dropped");
    for (let i = 0; i < 3; i++) { w.release[i]?.(); await new Promise((r) => setImmediate(r)); }
    await recorder.flush();
    assert.deepEqual(w.started, ["sending", "w1", "w2"]);
  });

  it("a refused event is reported with the apiserver's error and not sent again", async () => {
    const failures: [string, unknown][] = [];
    let writes = 0;
    const recorder = new EventRecorder({
      write: () => { writes++; return Promise.reject(new Error("forbidden")); },
      onFailure: (e, f) => failures.push([e.reason ?? "", f]),
    });
    recorder.record("team", event("Preempted"));
    await recorder.flush();
    assert.equal(writes, 1);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]![0], "Preempted");
    assert.match(String(failures[0]![1]), /forbidden/);
  });

  it("a failure reporter that throws does not become an unhandled rejection", async () => {
    const recorder = new EventRecorder({
      write: () => Promise.reject(new Error("apiserver down")),
      onFailure: () => { throw new Error("the logger broke"); },
      capacity: 1,
      concurrency: 1,
    });
    recorder.record("team", event("a"));
    recorder.record("team", event("b"));
    assert.doesNotThrow(() => recorder.record("team", event("dropped")));
    await recorder.flush();
  });
});
