// The chart renders what it promises, for the defaults and for the values
// people change, and rejects bad values with a message naming the key.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { findObject, helmTemplate, helmWithValues, NAMESPACE, renderChart, type KubeObject } from "./render.js";
import { CHART_DIR, run } from "./tools.js";
import { loadConfig, type OperatorConfig } from "../../operator/src/config/config.js";

interface Container {
  image: string;
  args: string[];
  env: { name: string; value?: string }[];
  securityContext: Record<string, unknown>;
  resources: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const MONITORING_ON = {
  metrics: { serviceMonitor: { enabled: true } },
  trainer: { podMonitor: { enabled: true } },
  prometheusRule: { enabled: true },
};

const podSpec = (objects: KubeObject[]) =>
  (findObject(objects, "Deployment").spec as { template: { spec: PodSpec } }).template.spec;
const operatorContainer = (objects: KubeObject[]) => podSpec(objects).containers[0]!;
const kinds = (objects: KubeObject[]) => objects.map((o) => o.kind);
const chartYaml = parse(readFileSync(`${CHART_DIR}/Chart.yaml`, "utf8")) as { version: string; appVersion: string };
const crdFile = parse(readFileSync(new URL("../../crds/resumable.dev_trainingruns.yaml", import.meta.url), "utf8")) as KubeObject;

describe("helm lint and package", () => {
  for (const [what, values] of [
    ["defaults", {}],
    ["every optional object on", { watchNamespaces: ["team-a"], ...MONITORING_ON }],
  ] as const) {
    it(`lint passes with --strict: ${what}`, async () => {
      const result = await helmWithValues(["lint", "--strict", CHART_DIR], values);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });
  }

  it("the packaged chart carries the CRD itself, not the link to crds/", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resumable-package-"));
    try {
      const packaged = await run("helm", ["package", CHART_DIR, "--destination", dir]);
      assert.equal(packaged.code, 0, packaged.stderr);
      const archive = join(dir, `resumable-${chartYaml.version}.tgz`);
      const rendered = await run("helm", ["template", "resumable", archive]);
      assert.match(rendered.stdout, /kind: CustomResourceDefinition/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the default install", async () => {
  const objects = await renderChart();

  it("runs the operator image of the chart's appVersion with leader election", () => {
    const c = operatorContainer(objects);
    assert.equal(c.image, `resumable/operator:${chartYaml.appVersion}`);
    assert.ok(c.args.includes("--leader-elect=true"), c.args.join(" "));
    assert.ok(c.args.includes("--log-level=info"));
    assert.ok(!c.args.some((a) => a.startsWith("--namespaces")), "all namespaces by default");
    assert.ok(c.args.includes("--metrics-address=0.0.0.0"), "metrics on every address, so port-forward reaches them");
  });

  it("runs non-root with a read-only root filesystem and no privileges", () => {
    const spec = podSpec(objects);
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.deepEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
    const sc = operatorContainer(objects).securityContext;
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities, { drop: ["ALL"] });
    assert.ok(operatorContainer(objects).resources.requests, "resource requests are set");
  });

  it("ships the repository's CRD, kept on uninstall", () => {
    const crd = findObject(objects, "CustomResourceDefinition");
    assert.deepEqual(crd.spec, crdFile.spec);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep");
  });

  it("grants the operator exactly the calls it makes, cluster-wide, and a leader Lease", () => {
    const rules = (name: string) => findObject(objects, "ClusterRole", name).rules as Rule[];
    assert.deepEqual(rules("resumable"), [
      { apiGroups: ["resumable.dev"], resources: ["trainingruns"], verbs: ["list", "watch"] },
      { apiGroups: ["resumable.dev"], resources: ["trainingruns/status"], verbs: ["patch"] },
      { apiGroups: ["resumable.dev"], resources: ["trainingruns/finalizers"], verbs: ["update"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "create", "delete", "patch"] },
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["list", "watch", "create", "patch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["create"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "list", "watch"] },
    ]);
    assert.deepEqual(rules("resumable-nodes"), [{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }]);
    const lease = findObject(objects, "Role", "resumable-leader-election");
    assert.equal(lease.metadata.namespace, NAMESPACE);
    assert.deepEqual(lease.rules, [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }]);
  });

  it("gives trainers in the release namespace a ServiceAccount that may patch pods and nothing else", () => {
    const sa = findObject(objects, "ServiceAccount", "resumable-trainer");
    assert.equal(sa.metadata.namespace, NAMESPACE);
    const role = findObject(objects, "Role", "resumable-trainer");
    assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }]);
    assert.ok(operatorContainer(objects).args.includes("--trainer-service-account=resumable-trainer"));
  });

  it("narrows that patch with a ValidatingAdmissionPolicy matching only the trainer ServiceAccount, enforced (Deny)", () => {
    const policy = findObject(objects, "ValidatingAdmissionPolicy", "resumable-trainer-progress");
    const spec = policy.spec as { failurePolicy: string; matchConditions: { expression: string }[]; validations: { message: string }[] };
    assert.equal(spec.failurePolicy, "Fail");
    assert.deepEqual(spec.matchConditions.map((c) => c.expression), [`request.userInfo.username in ['system:serviceaccount:${NAMESPACE}:resumable-trainer']`]);
    assert.deepEqual(spec.validations.map((v) => v.message), [
      "a trainer may patch only its own pod (the pod its token is bound to)",
      "a trainer may change only its pod's resumable.dev/progress annotation",
      "a trainer may not change its pod's labels",
      "a trainer may not change its pod's spec, owners or finalizers",
    ]);
    const binding = findObject(objects, "ValidatingAdmissionPolicyBinding", "resumable-trainer-progress");
    assert.deepEqual(binding.spec, { policyName: "resumable-trainer-progress", validationActions: ["Deny"] });
  });

  it("labels the dashboards for Grafana's sidecar, one valid JSON document each", () => {
    const cm = findObject(objects, "ConfigMap", "resumable-dashboards");
    assert.equal(cm.metadata.labels?.grafana_dashboard, "1");
    const data = cm.data as Record<string, string>;
    assert.ok(Object.keys(data).length >= 2, Object.keys(data).join(", "));
    for (const [name, json] of Object.entries(data)) assert.doesNotThrow(() => JSON.parse(json), name);
  });

  it("leaves the Prometheus Operator's kinds out unless asked", () => {
    for (const kind of ["ServiceMonitor", "PodMonitor", "PrometheusRule"]) assert.ok(!kinds(objects).includes(kind), kind);
  });
});

describe("values people change", () => {
  it("watchNamespaces: a Role per watched namespace, no cluster-wide access to pods, trainer accounts there", async () => {
    const objects = await renderChart({ watchNamespaces: ["team-a", "team-b"] });
    assert.ok(operatorContainer(objects).args.includes("--namespaces=team-a,team-b"));
    const roles = objects.filter((o) => o.kind === "Role" && o.metadata.name === "resumable");
    assert.deepEqual(roles.map((r) => r.metadata.namespace).sort(), ["team-a", "team-b"]);
    const clusterRules = objects.filter((o) => o.kind === "ClusterRole").flatMap((o) => o.rules as Rule[]);
    assert.deepEqual(clusterRules.flatMap((r) => r.resources), ["nodes"]);
    const trainerAccounts = objects.filter((o) => o.kind === "ServiceAccount" && o.metadata.name === "resumable-trainer");
    assert.deepEqual(trainerAccounts.map((o) => o.metadata.namespace).sort(), ["team-a", "team-b"]);
    // Bound only where the Roles are: no ClusterRoleBinding hands the operator's rules out cluster-wide.
    const bindings = objects.filter((o) => o.kind === "RoleBinding" && o.metadata.name === "resumable");
    assert.deepEqual(bindings.map((b) => [b.metadata.namespace, (b.roleRef as { kind: string }).kind]).sort(), [["team-a", "Role"], ["team-b", "Role"]]);
    const clusterBindings = objects.filter((o) => o.kind === "ClusterRoleBinding").map((o) => (o.roleRef as { name: string }).name);
    assert.deepEqual(clusterBindings, ["resumable-nodes"]);
    const policy = findObject(objects, "ValidatingAdmissionPolicy", "resumable-trainer-progress");
    assert.deepEqual((policy.spec as { matchConditions: { expression: string }[] }).matchConditions[0]?.expression,
      "request.userInfo.username in ['system:serviceaccount:team-a:resumable-trainer', 'system:serviceaccount:team-b:resumable-trainer']");
  });

  it("kueue.enabled: --kueue=true and a read-only rule on Kueue's Workloads, in the ClusterRole or each watched namespace's Role; off by default", async () => {
    const workloadRules = (objects: Awaited<ReturnType<typeof renderChart>>) =>
      objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap((o) => ((o.rules ?? []) as Rule[]).filter((r) => r.apiGroups.includes("kueue.x-k8s.io")));
    const byDefault = await renderChart();
    assert.ok(!operatorContainer(byDefault).args.some((a) => a.startsWith("--kueue")));
    assert.deepEqual(workloadRules(byDefault), []);
    const on = await renderChart({ kueue: { enabled: true } });
    assert.ok(operatorContainer(on).args.includes("--kueue=true"));
    assert.deepEqual(workloadRules(on), [{ apiGroups: ["kueue.x-k8s.io"], resources: ["workloads"], verbs: ["list", "watch"] }]);
    const scoped = await renderChart({ kueue: { enabled: true }, watchNamespaces: ["team-a", "team-b"] });
    assert.equal(workloadRules(scoped).length, 2, "one rule in each watched namespace's Role");
    await assert.rejects(renderChart({ kueue: { enable: true } }), /kueue/);
  });

  it("allowedImages: passed to the operator as --allowed-images; unset, no flag (any image)", async () => {
    const objects = await renderChart({ allowedImages: ["registry.example.com/ml/", "ghcr.io/org/"] });
    assert.ok(operatorContainer(objects).args.includes("--allowed-images=registry.example.com/ml/,ghcr.io/org/"));
    assert.ok(!operatorContainer(await renderChart()).args.some((a) => a.startsWith("--allowed-images")));
  });

  it("allowRelaxedSecurityContext: false by default, passed as --allow-relaxed-security-context, which the operator reads back", async () => {
    const flag = (args: string[]) => args.filter((a) => a.startsWith("--allow-relaxed-security-context"));
    const byDefault = flag(operatorContainer(await renderChart()).args);
    assert.deepEqual(byDefault, ["--allow-relaxed-security-context=false"]);
    assert.equal((loadConfig(byDefault, {}) as OperatorConfig).settings.allowRelaxedSecurityContext, false);
    const allowed = flag(operatorContainer(await renderChart({ allowRelaxedSecurityContext: true })).args);
    assert.equal((loadConfig(allowed, {}) as OperatorConfig).settings.allowRelaxedSecurityContext, true);
  });

  it("nodeOptions: the V8 heap cap in NODE_OPTIONS by default; empty, no NODE_OPTIONS (Node's own sizing)", async () => {
    const nodeOptions = async (values: object) => operatorContainer(await renderChart(values)).env.find((e) => e.name === "NODE_OPTIONS")?.value;
    assert.equal(await nodeOptions({}), "--max-old-space-size=192 --max-semi-space-size=4");
    assert.equal(await nodeOptions({ nodeOptions: "" }), undefined);
  });

  it("progressWriteIntervalSeconds: passed as --progress-write-interval-seconds, 15 by default, 0 kept", async () => {
    assert.ok(operatorContainer(await renderChart()).args.includes("--progress-write-interval-seconds=15"));
    assert.ok(operatorContainer(await renderChart({ progressWriteIntervalSeconds: 0 })).args.includes("--progress-write-interval-seconds=0"));
  });

  it("spotDisruptionsPerHour: passed as --spot-disruptions-per-hour, 1 by default; a negative rate refused at install", async () => {
    assert.ok(operatorContainer(await renderChart()).args.includes("--spot-disruptions-per-hour=1"));
    assert.ok(operatorContainer(await renderChart({ spotDisruptionsPerHour: 0.25 })).args.includes("--spot-disruptions-per-hour=0.25"));
    await assert.rejects(renderChart({ spotDisruptionsPerHour: -1 }), /spotDisruptionsPerHour/);
  });

  it("returnToSpotPendingSeconds: passed as --return-to-spot-pending-seconds, 300 by default; 0 refused at install", async () => {
    assert.ok(operatorContainer(await renderChart()).args.includes("--return-to-spot-pending-seconds=300"));
    assert.ok(operatorContainer(await renderChart({ returnToSpotPendingSeconds: 120 })).args.includes("--return-to-spot-pending-seconds=120"));
    await assert.rejects(renderChart({ returnToSpotPendingSeconds: 0 }), /returnToSpotPendingSeconds/);
  });

  it("prices: passed to the operator as one --prices JSON flag it parses back; unset, no flag (no cost fields)", async () => {
    const prices = { currency: "USD", instanceTypes: { "n1-standard-4": { spot: 0.19, onDemand: 0.55 } }, perGpu: { spot: 0.14, onDemand: 0.35 } };
    const args = operatorContainer(await renderChart({ prices })).args;
    const flag = args.find((a) => a.startsWith("--prices="));
    assert.ok(flag, args.join(" "));
    assert.deepEqual(JSON.parse(flag.slice("--prices=".length)), prices);
    assert.ok(!operatorContainer(await renderChart()).args.some((a) => a.startsWith("--prices")));
  });

  it("trainer.admissionPolicy.enabled=false (clusters before 1.30) leaves the policy out", async () => {
    const objects = await renderChart({ trainer: { admissionPolicy: { enabled: false } } });
    assert.ok(!kinds(objects).includes("ValidatingAdmissionPolicy"));
    assert.ok(!kinds(objects).includes("ValidatingAdmissionPolicyBinding"));
  });

  it("crds.install=false leaves the CRD out; crds.keep=false lets uninstall remove it", async () => {
    assert.ok(!kinds(await renderChart({ crds: { install: false } })).includes("CustomResourceDefinition"));
    const crd = findObject(await renderChart({ crds: { keep: false } }), "CustomResourceDefinition");
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], undefined);
  });

  it("monitoring on: ServiceMonitor, PodMonitor for trainer pods, PrometheusRule", async () => {
    const objects = await renderChart({ ...MONITORING_ON, metrics: { serviceMonitor: { enabled: true, labels: { release: "kps" } } } });
    const sm = findObject(objects, "ServiceMonitor");
    assert.equal(sm.metadata.labels?.release, "kps");
    const pm = findObject(objects, "PodMonitor");
    assert.deepEqual((pm.spec as { selector: unknown }).selector, {
      matchExpressions: [{ key: "resumable.dev/run", operator: "Exists" }],
    });
    findObject(objects, "PrometheusRule");
  });

  it("replicas, image tag, log level, metrics port and no leader election", async () => {
    const objects = await renderChart({
      replicaCount: 3,
      image: { tag: "dev" },
      logLevel: "debug",
      metrics: { port: 9100 },
      leaderElection: { enabled: false },
    });
    assert.equal((findObject(objects, "Deployment").spec as { replicas: number }).replicas, 3);
    const c = operatorContainer(objects);
    assert.equal(c.image, "resumable/operator:dev");
    for (const arg of ["--log-level=debug", "--metrics-port=9100", "--leader-elect=false"]) assert.ok(c.args.includes(arg), arg);
    assert.ok(!objects.some((o) => o.metadata.name === "resumable-leader-election"));
  });

  it("dashboards.enabled=false and trainer.serviceAccount.create=false leave those out", async () => {
    const objects = await renderChart({ dashboards: { enabled: false }, trainer: { serviceAccount: { create: false, name: "mine" } } });
    assert.ok(!kinds(objects).includes("ConfigMap"));
    assert.ok(!objects.some((o) => o.metadata.name === "mine"));
    assert.ok(operatorContainer(objects).args.includes("--trainer-service-account=mine"));
  });
});

describe("bad values fail at template time, naming the key", () => {
  const cases: [string, object, RegExp][] = [
    ["negative replicas", { replicaCount: -1 }, /\/replicaCount': minimum: got -1, want 0/],
    ["an unknown log level", { logLevel: "loud" }, /\/logLevel': value must be one of/],
    ["a port out of range", { metrics: { port: 70000 } }, /\/metrics\/port': maximum/],
    ["a namespace that is not a DNS label", { watchNamespaces: ["Team_A"] }, /\/watchNamespaces\/0': 'Team_A' does not match pattern/],
    ["a misspelt key", { replicas: 2 }, /additional properties 'replicas' not allowed/],
    ["a duration Prometheus cannot read", { trainer: { podMonitor: { interval: "soon" } } }, /\/trainer\/podMonitor\/interval'/],
    ["a quantity Kubernetes cannot read", { resources: { limits: { memory: "lots" } } }, /\/resources\/limits\/memory'/],
    ["a string where a switch belongs", { crds: { install: "yes" } }, /\/crds\/install': got string, want boolean/],
    ["an allowed image prefix with a comma", { allowedImages: ["a/,b/"] }, /\/allowedImages\/0'/],
    ["a string where the relaxed security switch belongs", { allowRelaxedSecurityContext: "true" }, /\/allowRelaxedSecurityContext': got string, want boolean/],
    ["a price that is no number", { prices: { perGpu: { spot: "cheap", onDemand: 1 } } }, /\/prices\/perGpu\/spot'/],
  ];
  for (const [what, values, message] of cases) {
    it(what, async () => {
      const result = await helmTemplate(values);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /values don't meet the specifications of the schema/);
      assert.match(result.stderr, message);
    });
  }
});
