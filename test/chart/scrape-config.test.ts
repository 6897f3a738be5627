// The scrape jobs the tests derive from the chart's monitors are a valid
// Prometheus config and keep the monitors' selection and relabelings.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { stringify } from "yaml";
import { renderChart } from "./render.js";
import { scrapeJobsFor } from "./scrape-config.js";
import { run } from "./tools.js";

const objects = await renderChart({
  watchNamespaces: ["team-a"],
  metrics: { serviceMonitor: { enabled: true } },
  trainer: { podMonitor: { enabled: true } },
});
const jobs = scrapeJobsFor(objects, "/nonexistent/kubeconfig") as { job_name: string; relabel_configs: Record<string, unknown>[] }[];

it("one job per monitor, named as the Prometheus Operator names them", () => {
  assert.deepEqual(jobs.map((j) => j.job_name).sort(), [
    "podMonitor/resumable-system/resumable-trainers/0",
    "serviceMonitor/resumable-system/resumable/0",
  ]);
});

it("the trainer job keeps run pods' trainer containers and labels run and attempt", () => {
  const trainers = jobs.find((j) => j.job_name.startsWith("podMonitor/"))!;
  const keeps = trainers.relabel_configs.filter((r) => r.action === "keep");
  assert.deepEqual(keeps, [
    { action: "keep", source_labels: ["__meta_kubernetes_pod_labelpresent_resumable_dev_run"], regex: "true" },
    { action: "keep", source_labels: ["__meta_kubernetes_pod_container_name"], regex: "trainer" },
  ]);
  const targets = trainers.relabel_configs.map((r) => r.target_label);
  for (const label of ["__address__", "run", "attempt", "namespace", "pod"]) assert.ok(targets.includes(label), label);
});

it("passes promtool check config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "resumable-scrape-"));
  try {
    const file = join(dir, "prometheus.yml");
    writeFileSync(file, stringify({ scrape_configs: jobs }));
    const result = await run("promtool", ["check", "config", "--syntax-only", file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
