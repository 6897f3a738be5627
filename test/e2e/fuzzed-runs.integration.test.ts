// Fuzzed TrainingRun objects, mutated from the examples, against the real apiserver and the
// operator. The generator knows what each object deserves (fuzzed-runs.ts, `deserved`):
// rejected by the apiserver naming the field, Valid=False naming the field and no pod, or it
// runs (its pod waits for a node, or admission refuses the pod and it is retried). Each object
// must get exactly that, then stay settled (no status that keeps changing: a hot loop), and the
// operator must keep running. No kubelet: a valid run's pod stays Pending, so no mutant trains.
// FUZZ_SEED=<n> replays a failure; FUZZ_OBJECTS=<n> tries more (make fuzz).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Prng } from "../../trainer/src/data/prng.js";
import { eventually } from "../support/cluster.js";
import { RUN_LABEL } from "../../operator/src/api/group.js";
import { deserved, judged, mutant, type Settled } from "./fuzzed-runs.js";
import { NAMESPACE, useE2E } from "./harness.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const RUNS = Number(process.env.FUZZ_OBJECTS ?? 24);
// A cluster of its own, not the shared one: no kubelet, so its fuzzed runs' pods never run.
const e = useE2E({ withKubelet: false, startOperator: false });

type Json = Record<string, unknown>;

/** Event reasons of a pod create the apiserver refused for reasons that may change (quota, admission, RBAC). */
const RETRIED_REFUSALS = new Set(["QuotaExceeded", "AdmissionRefused", "Forbidden"]);

describe(`fuzzed TrainingRuns (FUZZ_SEED=${SEED}, FUZZ_OBJECTS=${RUNS})`, { timeout: 1_800_000 }, () => {
  test("every object gets the verdict it deserves: rejected or Valid=False naming the field, or it runs; and stays settled", async () => {
    console.log(`fuzzed runs: FUZZ_SEED=${SEED} FUZZ_OBJECTS=${RUNS}`);
    const operator = await e.startOperator();
    const random = Prng.fromSeed(SEED);
    const outcomes = new Map<string, number>();
    const wrong: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `fuzz-${i}`;
      const object = mutant(random, name, NAMESPACE);
      const want = deserved(object);
      const got = await settle(name, object);
      outcomes.set(got.outcome, (outcomes.get(got.outcome) ?? 0) + 1);
      const why = judged(want, got);
      if (why) wrong.push(`${name} ${JSON.stringify(object.spec)}: ${why}`);
    }
    console.log(`fuzzed runs: ${RUNS} tried; ${[...outcomes].map(([k, n]) => `${k}: ${n}`).join("; ")}`);
    assert.deepEqual(wrong, [], `FUZZ_SEED=${SEED}: ${wrong.length} objects did not get the verdict they deserved:\n${wrong.join("\n")}`);
    assert.equal(operator.exitCode, null, "the operator is still running");
    assert.equal(operator.signalCode, null, "the operator is still running");
    const left = await e.kubectl(["get", "tr", "-n", NAMESPACE, "-o", "name"]);
    assert.equal(left.trim(), "", "every fuzzed run was deleted again");
  });
});

async function settle(name: string, object: Json): Promise<Settled> {
  const described = `${name}: ${JSON.stringify(object.spec)}`;
  try {
    await e.custom.createNamespacedCustomObject({ group: "resumable.dev", version: "v1alpha1", namespace: NAMESPACE, plural: "trainingruns", body: object });
  } catch (err) {
    const code = (err as { code?: number }).code;
    assert.ok(code === 422 || code === 400, `${described}: refused with ${code}, not as invalid: ${(err as Error).message}`);
    return { outcome: "rejected by the apiserver", message: (err as Error).message };
  }
  try {
    // A pod refused by admission (e.g. a priorityClassName that does not exist: the
    // examples name one) is retried with backoff and reported by a Warning event.
    let refused = false;
    const run = await eventually(`${name}: a steady state`, async () => {
      const r = await e.getRun(name);
      const s = r.status;
      const valid = s?.conditions?.find((c) => c.type === "Valid");
      const waitingFor = s?.conditions?.find((c) => c.type === "Running")?.reason ?? "";
      if (s === undefined || s.observedGeneration !== r.metadata.generation) return undefined;
      // A refusal shows in status as well as in the Warning event: the run is Pending, saying why.
      if (s.phase === "Pending" && RETRIED_REFUSALS.has(waitingFor)) {
        assert.ok(await refusedEvent(name), `${described}: status says ${waitingFor}, but no Warning event says so`);
        refused = true;
        return r;
      }
      if (valid?.status === "False") return r;
      // Pending is steady once the scheduler has said why (Unschedulable: there is no node);
      // before that, "PodPending" is a state on its way to the scheduler's verdict, which the
      // operator then writes: accepting it here raced that write (FUZZ_SEED=628061, fuzz-1).
      if (s.phase === "Pending" && waitingFor !== "PodPending") return r;
      return undefined;
    }, 60_000);
    // Settled means settled: the status does not keep changing by itself (a hot loop writes it).
    const before = run.metadata.resourceVersion;
    await sleep(3_000);
    const after = await e.getRun(name);
    assert.equal(after.metadata.resourceVersion, before, `${described}: the status kept changing after it settled`);
    const valid = after.status?.conditions?.find((c) => c.type === "Valid");
    if (refused) return { outcome: "pod refused by admission, retried", message: "" };
    if (valid?.status === "False") {
      const pods = await e.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${RUN_LABEL}=${name}` });
      assert.equal(pods.items.length, 0, `${described}: Valid=False, yet a pod exists`);
      return { outcome: "Valid=False", message: valid.message ?? "" };
    }
    return { outcome: "waiting for a node", message: "" };
  } finally {
    await e.kubectl(["delete", "tr", name, "-n", NAMESPACE, "--wait=true", "--timeout=60s"]);
  }
}

async function refusedEvent(name: string): Promise<boolean> {
  const events = await e.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name}` });
  return events.items.some((ev) => ev.type === "Warning" && RETRIED_REFUSALS.has(ev.reason ?? ""));
}
