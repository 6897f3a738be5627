import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { shadowingLast, withoutImageShadowing } from "./mounts.js";

const mount = (source: string, target: string) => ({ source, target, readOnly: false, isFile: false });

describe("container mounts", () => {
  it("a mount at /tmp goes after the mounts whose host sources live under /tmp, so it cannot hide them", () => {
    const checkpoints = mount("/tmp/cluster-1/pv/ckpt", "/checkpoints");
    const tmp = mount("/tmp/cluster-1/pods/p/volumes/kubernetes.io~empty-dir/tmp", "/tmp");
    const log = { ...mount("/tmp/cluster-1/run/termination-log-0", "/dev/termination-log"), isFile: true };
    assert.deepEqual(shadowingLast([checkpoints, tmp, log]), [checkpoints, log, tmp]);
  });

  it("leaves the order alone when no target covers another source", () => {
    const a = mount("/var/lib/a", "/data");
    const b = mount("/var/lib/b", "/data/sub");
    assert.deepEqual(shadowingLast([a, b]), [a, b]);
  });

  it("a mount that would hide the checkout playing the image (a clone under /tmp) is left out", () => {
    const tmp = mount("/tmp/cluster-1/pods/p/volumes/kubernetes.io~empty-dir/tmp", "/tmp");
    const checkpoints = mount("/tmp/cluster-1/pv/ckpt", "/checkpoints");
    assert.deepEqual(withoutImageShadowing([tmp, checkpoints], "/tmp/ci/"), [checkpoints]);
    assert.deepEqual(withoutImageShadowing([tmp, checkpoints], "/work/main/"), [tmp, checkpoints]);
  });
});
