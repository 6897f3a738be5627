// Which run a Kueue Workload concerns: a pod group's Workload is named `<run>-<attempt>` and
// owned by the group's pods; any other Workload (a Job's, a JobSet's) concerns no run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runKeyOfWorkload } from "../../operator/src/controller/workload-cache.js";

const workload = (name: string, ownerKind = "Pod") => ({ metadata: { name, namespace: "ml", ownerReferences: [{ kind: ownerKind }] } });

describe("a Workload's run", () => {
  it("is the pod group's name without its attempt", () => {
    assert.equal(runKeyOfWorkload(workload("mnist-3")), "ml/mnist");
    assert.equal(runKeyOfWorkload(workload("my-run-12")), "ml/my-run");
  });

  it("is none for a Workload owned by something else, or not named after an attempt", () => {
    assert.equal(runKeyOfWorkload(workload("job-first-3c5f1", "Job")), undefined);
    assert.equal(runKeyOfWorkload(workload("mnist-0")), undefined);
    assert.equal(runKeyOfWorkload(workload("mnist")), undefined);
    assert.equal(runKeyOfWorkload({ metadata: { name: "mnist-1" } }), undefined);
  });
});
