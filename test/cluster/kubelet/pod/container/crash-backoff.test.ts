import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CrashBackoff, crashLoopMessage, goDuration } from "./crash-backoff.js";

describe("CrashBackoff", () => {
  it("restarts at once the first time, then waits 10 s, 20 s … from the exit", () => {
    const b = new CrashBackoff();
    assert.deepEqual(b.delayAfterExit(0, 0), { waitMs: 0, backoffMs: 0 });
    assert.deepEqual(b.delayAfterExit(1_000, 1_000), { waitMs: 10_000, backoffMs: 10_000 });
    assert.deepEqual(b.delayAfterExit(12_000, 12_000), { waitMs: 20_000, backoffMs: 20_000 });
  });

  it("formats the kubelet's message", () => {
    assert.equal(goDuration(80_000), "1m20s");
    assert.equal(
      crashLoopMessage(10_000, "main", { name: "p", namespace: "ns", uid: "u" }),
      "back-off 10s restarting failed container=main pod=p_ns(u)",
    );
  });
});
