// A Secret or ConfigMap a trainer pod needs does not exist: the run says which at once, the
// pod is deleted after a grace so it stops holding its node, and the next attempt follows
// with backoff. None of it is a failure: the trainer never ran, no retry budget is spent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import { MISSING_OBJECT_GRACE_SECONDS } from "../../operator/src/reconcile/missing-object.js";
import type { Decision } from "../../operator/src/model/types.js";
import { T0, aPod, aRun, actionKinds, afterWrite, eventReasons, pass } from "./reconcile-fixtures.js";

const at = (s: number) => new Date(T0.getTime() + s * 1000);
const GRACE = MISSING_OBJECT_GRACE_SECONDS;
const onBucket = (more: Partial<Parameters<typeof aRun>[0]> = {}): TrainingRun =>
  aRun({ checkpoint: { storage: { s3: { bucket: "ml-checkpoints", prefix: "mnist/", credentialsSecret: { name: "s3-creds" } } } }, ...more });
/** The kubelet on an env source it cannot find. */
const configError = (attempt: number, message = 'secret "s3-creds" not found') =>
  aPod(attempt, { node: "spot-1", waiting: "CreateContainerConfigError", waitingMessage: message });
/** The kubelet on a volume it cannot set up: the pod stays ContainerCreating, the event says why. */
const failedMount = (pod: V1Pod, message: string, s: number): CoreV1Event => ({
  metadata: { name: `${pod.metadata?.name}.1`, namespace: "ml" },
  involvedObject: { kind: "Pod", namespace: "ml", name: pod.metadata?.name, uid: pod.metadata?.uid },
  reason: "FailedMount",
  message,
  lastTimestamp: at(s),
});
const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);

function play(run: TrainingRun, steps: { pods: V1Pod[]; now: Date; mountFailures?: CoreV1Event[] }[]): { run: TrainingRun; decisions: Decision[] } {
  const decisions: Decision[] = [];
  for (const step of steps) {
    const d = pass(run, step.pods, step.now, { pvc: null, ...(step.mountFailures ? { mountFailures: step.mountFailures } : {}) });
    decisions.push(d);
    run = afterWrite(run, d);
  }
  return { run, decisions };
}

describe("reconcile: a missing Secret or ConfigMap", () => {
  it("names the missing credentialsSecret at once, and counts no failure", () => {
    const { run, decisions } = play(onBucket(), [
      { pods: [], now: T0 },
      { pods: [configError(1)], now: at(5) },
    ]);
    const found = condition(decisions[1]!, "ObjectsFound");
    assert.equal(found?.status, "False");
    assert.equal(found?.reason, "SecretNotFound");
    assert.match(found?.message ?? "", /^Secret ml\/s3-creds \(spec\.checkpoint\.storage\.s3\.credentialsSecret\) does not exist: pod mnist-1 cannot start \(kubelet: secret "s3-creds" not found\)/);
    assert.ok(eventReasons(decisions[1]!).includes("SecretNotFound"));
    assert.equal(condition(decisions[1]!, "Running")?.reason, "WaitingForObject");
    assert.deepEqual(actionKinds(decisions[1]!), [], "the pod gets its grace: the object may be applied with the run");
    assert.equal(decisions[1]!.requeueAfterMs, GRACE * 1000);
    assert.equal(run.status?.failures, 0);
    assert.equal(run.status?.attempts?.[0]?.endReason, undefined);
  });

  it("after the grace deletes the pod (Blocked, no budget spent) and retries with backoff; a retry that still finds none waits no grace again", () => {
    const { run, decisions } = play(onBucket({ failurePolicy: { maxRetries: 0 } }), [
      { pods: [], now: T0 },
      { pods: [configError(1)], now: at(5) },
      { pods: [configError(1)], now: at(5 + GRACE) },
      { pods: [configError(1)], now: at(6 + GRACE) },
      { pods: [], now: at(7 + GRACE) },
      { pods: [], now: at(15 + GRACE) },
      { pods: [configError(2)], now: at(20 + GRACE) },
    ]);
    assert.deepEqual(actionKinds(decisions[2]!), [], "never deleted in the pass that records the end");
    assert.ok(eventReasons(decisions[2]!).includes("WaitingForObject"), eventReasons(decisions[2]!).join(", "));
    assert.deepEqual(decisions[3]!.actions.map((a) => [a.kind, "reason" in a ? a.reason : ""]), [["deletePod", "its attempt has ended"]]);
    assert.deepEqual(actionKinds(decisions[4]!), [], "backoff before the retry");
    assert.match(condition(decisions[4]!, "Running")?.message ?? "", /^Secret ml\/s3-creds .* does not exist.*; next attempt at /);
    assert.deepEqual(actionKinds(decisions[5]!), ["createPod"]);
    assert.equal(run.status?.attempts?.[1]?.endReason, "Blocked", "the retry ends at once: the run already waited its grace");
    assert.equal(run.status?.phase, "Restarting", "maxRetries 0 and still not Failed: nothing failed");
    assert.equal(run.status?.failures, 0);
  });

  it("a trainer that starts ends the wait: ObjectsFound=True", () => {
    const { run } = play(onBucket(), [
      { pods: [], now: T0 },
      { pods: [configError(1)], now: at(5) },
      { pods: [aPod(1, { node: "spot-1", phase: "Running" })], now: at(20) },
    ]);
    assert.equal(run.status?.conditions?.find((c) => c.type === "ObjectsFound")?.status, "True");
    assert.equal(run.status?.phase, "Running");
  });

  it("reads a missing volume source from the kubelet's FailedMount events about this pod, not about another", () => {
    const pod = aPod(1, { node: "spot-1", waiting: "ContainerCreating" });
    const event = failedMount(pod, 'MountVolume.SetUp failed for volume "config" : configmap "mnist-config" not found', 4);
    const other = { ...event, involvedObject: { ...event.involvedObject, uid: "someone-else" } };
    const { decisions } = play(aRun(), [
      { pods: [], now: T0 },
      { pods: [pod], now: at(5), mountFailures: [other] },
      { pods: [pod], now: at(6), mountFailures: [other, event] },
    ]);
    assert.equal(condition(decisions[1]!, "ObjectsFound"), undefined);
    const found = condition(decisions[2]!, "ObjectsFound");
    assert.equal(found?.reason, "ConfigMapNotFound");
    assert.match(found?.message ?? "", /^ConfigMap ml\/mnist-config does not exist: pod mnist-1 cannot start \(kubelet: MountVolume\.SetUp failed for volume "config" : configmap "mnist-config" not found\)/);
  });

  it("a config error that is not a missing object stays a failure of the attempt", () => {
    const { run } = play(aRun(), [
      { pods: [], now: T0 },
      { pods: [configError(1, "couldn't find key token in Secret ml/s3-creds")], now: at(5) },
    ]);
    assert.equal(run.status?.attempts?.[0]?.endReason, "Failed");
    assert.equal(run.status?.failures, 1);
  });
});
