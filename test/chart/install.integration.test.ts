// The chart installed into the local cluster: the operator runs from it (the
// process kubelet maps resumable/operator to this checkout's build) with only
// the chart's RBAC, and carries a TrainingRun through a preemption.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AppsV1Api, CoordinationV1Api } from "@kubernetes/client-node";
import { eventually, useCluster } from "../support/cluster.js";
import { helmInstall, helmUninstall } from "./install.js";
import { NAMESPACE } from "./render.js";
import { RUN_NAMESPACE, runDriver } from "./runs.js";

// A cluster of its own, not the shared one: the chart installs cluster-wide objects (the CRD, ClusterRoles, a webhook).
const c = useCluster();

describe("helm install into the local cluster", { timeout: 20 * 60_000 }, () => {
  test("two operator replicas come up from the chart; one holds the leader Lease", async () => {
    // Two replicas on one host also prove each binds its metrics port to its own pod IP.
    await helmInstall(c.cluster.kubeconfig, { replicaCount: 2, trainer: { namespaces: [RUN_NAMESPACE] } });
    const apps = c.kc.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ name: "resumable", namespace: NAMESPACE });
    assert.equal(deployment.status?.readyReplicas, 2);
    const pods = await c.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "app.kubernetes.io/name=resumable" });
    const podNames = pods.items.map((p) => p.metadata?.name);
    const coordination = c.kc.makeApiClient(CoordinationV1Api);
    // The Lease is named like the Deployment; its holder is a replica's pod name.
    await eventually("a replica holding the Lease", async () => {
      const lease = await coordination.readNamespacedLease({ name: "resumable", namespace: NAMESPACE });
      return podNames.includes(lease.spec?.holderIdentity ?? "") || undefined;
    });
  });

  test("a TrainingRun is preempted by an eviction and still Succeeds", async () => {
    const run = await runDriver(c.kc, c.core).preemptedRun("chart-run", { step: 100, totalSteps: 800 });
    assert.equal(run.status?.phase, "Succeeded", JSON.stringify(run.status?.conditions));
    assert.equal(run.status?.preemptions, 1);
    assert.equal(run.status?.failures ?? 0, 0);
    assert.equal(run.status?.lostSteps, 0);
  });

  test("uninstall removes the operator but keeps the CRD and the runs", async () => {
    await helmUninstall(c.cluster.kubeconfig);
    const pods = await c.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "app.kubernetes.io/name=resumable" });
    assert.equal(pods.items.filter((p) => !p.metadata?.deletionTimestamp).length, 0);
    await c.kubectl(["get", "crd", "trainingruns.resumable.dev"]);
    await c.kubectl(["get", "trainingrun", "chart-run", "-n", RUN_NAMESPACE]);
  });
});
