import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconcile } from "../../operator/src/reconcile/decide.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import { FakeClock, SETTINGS, T0, aNode, aPvc, aRun, afterWrite, pass, running, startedStatus } from "./reconcile-fixtures.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";

/** Specs that got past the apiserver somehow (an older CRD) or that the world makes unworkable. */
const cases: { name: string; run: TrainingRun; field: RegExp; pvc?: ReturnType<typeof aPvc> }[] = [
  { name: "claimName and volume together", run: aRun({ checkpoint: { claimName: "x", volume: {} } }), field: /^spec\.checkpoint\.claimName: / },
  { name: "a reserved env var", run: aRun({ env: [{ name: "RESUMABLE_ATTEMPT", value: "9" }] }), field: /^spec\.env: / },
  { name: "a negative grace period", run: aRun({ preemption: { gracePeriodSeconds: -1 } }), field: /^spec\.preemption\.gracePeriodSeconds: / },
  { name: "no training config", run: { ...aRun(), spec: {} as TrainingRun["spec"] }, field: /^spec\.training: / },
  { name: "a name too long for a label", run: { ...aRun(), metadata: { ...aRun().metadata, name: "n".repeat(64) } }, field: /^metadata\.name must be at most 63/ },
  { name: "runAsUser 0 with the default runAsNonRoot", run: aRun({ securityContext: { runAsUser: 0 } }), field: /^spec\.securityContext\.runAsUser: .*runAsNonRoot: false/ },
  { name: "a Localhost seccomp profile without its path", run: aRun({ securityContext: { seccompProfile: { type: "Localhost" } } }), field: /^spec\.securityContext\.seccompProfile\.localhostProfile: / },
  { name: "SYS_ADMIN without privilege escalation", run: aRun({ securityContext: { capabilities: { add: ["SYS_ADMIN"] } } }), field: /^spec\.securityContext\.capabilities: / },
  { name: "a nodeSelector key that is no label key (the CRD cannot check map keys)", run: aRun({ scheduling: { nodeSelector: { "bad key!": "x" } } }), field: /^spec\.scheduling\.nodeSelector: "bad key!" is not a label key/ },
  { name: "a read-only claim", run: aRun({ checkpoint: { claimName: "ro" } }), pvc: aPvc("ro", ["ReadOnlyMany"]), field: /^spec\.checkpoint\.claimName: .*ReadOnlyMany/ },
];

describe("reconcile: specs that can never work", () => {
  for (const c of cases) {
    it(`${c.name} → Valid=False naming the field, no actions, no requeue`, () => {
      const d = pass(c.run, [], new FakeClock().now(), { pvc: c.pvc ?? null });
      const valid = d.status.conditions?.find((x) => x.type === "Valid");
      assert.equal(valid?.status, "False");
      assert.match(valid?.message ?? "", c.field);
      assert.deepEqual(d.actions, []);
      assert.equal(d.requeueAfterMs, undefined);
      assert.deepEqual(d.events.map((e) => e.reason), ["InvalidSpec"]);
      // Seen again: same status, no second event (no hot loop through our own writes).
      const again = pass(afterWrite(c.run, d), [], new FakeClock().now(), { pvc: c.pvc ?? null });
      assert.deepEqual(again.status, d.status);
      assert.deepEqual(again.events, []);
    });
  }

  it("an invalid edit leaves a running trainer alone; fixing it turns Valid back to True", () => {
    const broken = aRun({ env: [{ name: "RESUMABLE_RUN", value: "x" }] }, startedStatus(1));
    const d = pass(broken, [running(1)], new FakeClock().now());
    assert.deepEqual(d.actions, []);
    assert.equal(d.status.phase, "Running");
    const fixed = pass({ ...afterWrite(broken, d), spec: aRun().spec }, [running(1)], new FakeClock().now());
    assert.equal(fixed.status.conditions?.find((x) => x.type === "Valid")?.status, "True");
  });

  it("observedGeneration follows metadata.generation", () => {
    const run = aRun();
    run.metadata.generation = 7;
    assert.equal(pass(run, [], new FakeClock().now()).status.observedGeneration, 7);
  });

  describe("allowedImages", () => {
    const withAllowed = (run: TrainingRun, allowedImages: string[]) =>
      reconcile({ run, location: checkpointLocation(run), pods: [], pvc: aPvc(), nodes: new Map([["spot-1", aNode("spot-1")]]), now: T0 }, { ...SETTINGS, allowedImages });

    it("an image outside the allowed prefixes → Valid=False ImageNotAllowed (a refusal, not an invalid spec) naming spec.image and the prefixes, no pod", () => {
      const d = withAllowed(aRun({ image: "docker.io/evil/miner:latest" }), ["registry.example.com/ml/", "ghcr.io/org/"]);
      const valid = d.status.conditions?.find((x) => x.type === "Valid");
      assert.equal(valid?.status, "False");
      assert.equal(valid?.reason, "ImageNotAllowed");
      assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [["Warning", "ImageNotAllowed"]]);
      assert.match(valid?.message ?? "", /^spec\.image: docker\.io\/evil\/miner:latest is not allowed/);
      assert.match(valid?.message ?? "", /registry\.example\.com\/ml\/, ghcr\.io\/org\//);
      assert.deepEqual(d.actions, []);
    });

    it("an image under an allowed prefix starts; an empty list allows any image", () => {
      const allowed = withAllowed(aRun({ image: "ghcr.io/org/trainer:1.2" }), ["registry.example.com/ml/", "ghcr.io/org/"]);
      assert.equal(allowed.status.conditions?.find((x) => x.type === "Valid")?.status, "True");
      assert.deepEqual(allowed.actions.map((a) => a.kind), ["createPod"]);
      const any = withAllowed(aRun({ image: "docker.io/anything:1" }), []);
      assert.deepEqual(any.actions.map((a) => a.kind), ["createPod"]);
    });

    it("a longer repository name that merely starts with the prefix is refused: segments, not strings", () => {
      const d = withAllowed(aRun({ image: "registry.example.com/ml-evil/x:1" }), ["registry.example.com/ml"]);
      assert.equal(d.status.conditions?.find((x) => x.type === "Valid")?.reason, "ImageNotAllowed");
      assert.deepEqual(d.actions, []);
    });

    it("an image that is no reference is refused as such", () => {
      const d = withAllowed(aRun({ image: "registry.example.com/ml/../evil" }), ["registry.example.com/ml"]);
      assert.match(d.status.conditions?.find((x) => x.type === "Valid")?.message ?? "", /^spec\.image: registry\.example\.com\/ml\/\.\.\/evil is not an image reference/);
    });
  });

  describe("securityContext below the restricted profile", () => {
    const relaxations: [string, NonNullable<TrainingRun["spec"]["securityContext"]>, string][] = [
      ["uid 0", { runAsUser: 0, runAsNonRoot: false }, "spec.securityContext.runAsUser"],
      ["runAsNonRoot: false", { runAsNonRoot: false }, "spec.securityContext.runAsNonRoot"],
      ["privilege escalation", { allowPrivilegeEscalation: true }, "spec.securityContext.allowPrivilegeEscalation"],
      ["an added capability", { capabilities: { add: ["NET_ADMIN"] } }, "spec.securityContext.capabilities.add"],
      ["SYS_ADMIN (with the escalation it needs)", { allowPrivilegeEscalation: true, capabilities: { add: ["CAP_SYS_ADMIN"] } }, "spec.securityContext.allowPrivilegeEscalation"],
      ["a drop list without ALL", { capabilities: { drop: ["NET_RAW"] } }, "spec.securityContext.capabilities.drop"],
      ["Unconfined seccomp", { seccompProfile: { type: "Unconfined" } }, "spec.securityContext.seccompProfile.type"],
    ];
    for (const [name, securityContext, field] of relaxations) {
      it(`${name} → Valid=False SecurityContextNotAllowed naming ${field}, no pod; allowed when the operator allows relaxations`, () => {
        const d = pass(aRun({ securityContext }), [], T0);
        const valid = d.status.conditions?.find((x) => x.type === "Valid");
        assert.equal(valid?.status, "False");
        assert.equal(valid?.reason, "SecurityContextNotAllowed");
        assert.ok(valid?.message.startsWith(`${field}: `), valid?.message);
        assert.match(valid?.message ?? "", /restricted Pod Security Standard.*allowRelaxedSecurityContext/);
        assert.deepEqual(d.actions, []);
        assert.deepEqual(d.events.map((e) => e.reason), ["SecurityContextNotAllowed"]);
        const relaxed = pass(aRun({ securityContext }), [], T0, {}, { ...SETTINGS, allowRelaxedSecurityContext: true });
        assert.deepEqual(relaxed.actions.map((a) => a.kind), ["createPod"]);
      });
    }

    it("what the restricted profile admits starts: NET_BIND_SERVICE, drop ALL, a Localhost profile, another non-root uid", () => {
      const securityContext = { runAsUser: 2000, runAsGroup: 2000, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] }, seccompProfile: { type: "Localhost" as const, localhostProfile: "trainer.json" } };
      assert.deepEqual(pass(aRun({ securityContext }), [], T0).actions.map((a) => a.kind), ["createPod"]);
    });

    it("privileged, host namespaces and host ports are no fields of the spec: the pod never gets them", () => {
      const run = aRun({ securityContext: { privileged: true, procMount: "Unmasked" } as never });
      (run.spec as Record<string, unknown>).hostNetwork = true;
      (run.spec as Record<string, unknown>).hostPID = true;
      (run.spec as Record<string, unknown>).hostIPC = true;
      (run.spec as Record<string, unknown>).volumes = [{ name: "root", hostPath: { path: "/" } }];
      const d = pass(run, [], T0);
      const create = d.actions.find((a) => a.kind === "createPod");
      assert.ok(create?.kind === "createPod");
      const pod = JSON.stringify(create.pod);
      for (const word of ["privileged", "hostNetwork", "hostPID", "hostIPC", "hostPath", "procMount"]) assert.ok(!pod.includes(word), `${word} in ${pod}`);
    });
  });

  describe("a pod the apiserver refused as invalid", () => {
    const rejection = {
      message: 'Pod "mnist-1" is invalid: spec.nodeSelector: Invalid value: "bad key!": name part must consist of alphanumeric characters',
      causes: [{ field: "spec.nodeSelector", message: 'Invalid value: "bad key!"' }],
    };
    const observe = (run: TrainingRun, podRejection?: typeof rejection) =>
      reconcile({ run, location: checkpointLocation(run), pods: [], pvc: aPvc(), nodes: new Map([["spot-1", aNode("spot-1")]]), now: T0, ...(podRejection ? { podRejection } : {}) }, SETTINGS);

    it("→ Valid=False PodRejected naming the run's field and the apiserver's message, phase Pending, no pod, one event", () => {
      const d = observe(aRun(), rejection);
      const valid = d.status.conditions?.find((x) => x.type === "Valid");
      assert.equal(valid?.status, "False");
      assert.equal(valid?.reason, "PodRejected");
      assert.match(valid?.message ?? "", /^spec\.scheduling\.nodeSelector: the apiserver refused the trainer pod built from it: Pod "mnist-1" is invalid: spec\.nodeSelector: /);
      assert.equal(d.status.phase, "Pending");
      assert.deepEqual(d.actions, []);
      assert.equal(d.status.attempt, undefined, "no attempt was started");
      assert.deepEqual(d.events.map((e) => [e.type, e.reason]), [["Warning", "PodRejected"]]);
    });

    it("is remembered in status: later passes of the same generation create no pod and say nothing new", () => {
      const run = afterWrite(aRun(), observe(aRun(), rejection));
      const again = observe(run);
      assert.deepEqual(again.actions, []);
      assert.deepEqual(again.events, []);
      assert.deepEqual(again.status, run.status);
    });

    it("an edited spec (a new generation) is tried again", () => {
      const run = afterWrite(aRun(), observe(aRun(), rejection));
      const edited: TrainingRun = { ...run, metadata: { ...run.metadata, generation: 2 }, spec: { ...run.spec, scheduling: { nodeSelector: { pool: "gpu" } } } };
      const d = observe(edited);
      assert.deepEqual(d.actions.map((a) => a.kind), ["createPod"]);
      assert.equal(d.status.conditions?.find((x) => x.type === "Valid")?.status, "True");
    });

    it("resources and securityContext causes name spec.resources and spec.securityContext", () => {
      const field = (podField: string) =>
        observe(aRun(), { message: "m", causes: [{ field: podField, message: "x" }] }).status.conditions?.find((x) => x.type === "Valid")?.message.split(":")[0];
      assert.equal(field("spec.containers[0].resources.requests"), "spec.resources");
      assert.equal(field("spec.containers[0].securityContext.capabilities.add[0]"), "spec.securityContext");
      assert.equal(field("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"), "spec.scheduling.affinity");
    });
  });
});
