// The cache's memory of ended pods deleted before a pass saw their end: enough for every rank
// of a gang's last attempts, bounded for a long run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { keepEnded } from "../../operator/src/controller/cluster-cache.js";

const pod = (name: string, rank?: number): V1Pod => ({
  metadata: { name, uid: `uid-${name}`, labels: { "resumable.dev/run": "r", ...(rank === undefined ? {} : { "resumable.dev/rank": String(rank) }) } },
});
const names = (pods: V1Pod[]) => pods.map((p) => p.metadata!.name);

describe("ended pods remembered after their deletion", () => {
  it("a single pod's run keeps its two newest, whatever how many attempts ended", () => {
    let kept: V1Pod[] = [];
    for (let a = 1; a <= 5; a++) kept = keepEnded(kept, pod(`r-${a}`));
    assert.deepEqual(names(kept), ["r-4", "r-5"]);
  });

  it("a gang of 3 keeps every rank of its last two attempts, not only the last two pods", () => {
    let kept: V1Pod[] = [];
    for (let a = 1; a <= 3; a++) for (let r = 0; r < 3; r++) kept = keepEnded(kept, pod(`r-${a}-${r}`, r));
    assert.deepEqual(names(kept).sort(), ["r-2-0", "r-2-1", "r-2-2", "r-3-0", "r-3-1", "r-3-2"]);
  });

  it("the same pod seen deleted twice is kept once, as its newest state", () => {
    const first = pod("r-1");
    const again = { ...pod("r-1"), status: { phase: "Failed" } };
    const kept = keepEnded(keepEnded([], first), again);
    assert.equal(kept.length, 1);
    assert.equal(kept[0]!.status?.phase, "Failed");
  });
});
