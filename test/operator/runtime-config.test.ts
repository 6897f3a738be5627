import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, type OperatorConfig } from "../../operator/src/config/config.js";

function load(argv: string[], env: Record<string, string> = {}): OperatorConfig {
  const config = loadConfig(argv, env);
  assert.notEqual(config, "help");
  return config as OperatorConfig;
}

describe("operator config", () => {
  it("defaults: all namespaces, :8080, info, leader election on", () => {
    const c = load([], { POD_NAME: "op-0" });
    assert.deepEqual(c.namespaces, []);
    assert.deepEqual(c.metrics, { host: "0.0.0.0", port: 8080 });
    assert.equal(c.logLevel, "info");
    assert.equal(c.leaderElection.enabled, true);
    assert.equal(c.leaderElection.name, "resumable-operator");
    assert.equal(c.identity, "op-0");
    assert.equal(c.settings.trainerServiceAccountName, undefined);
    assert.deepEqual(c.settings.allowedImages, [], "any image");
    assert.equal(c.settings.progressReportTimeoutSeconds, 120);
  });

  it("allowed image prefixes come from --allowed-images or RESUMABLE_ALLOWED_IMAGES, trimmed and deduplicated", () => {
    assert.deepEqual(load(["--allowed-images=registry.example.com/ml/, ghcr.io/org/trainer:1.2,registry.example.com/ml/"]).settings.allowedImages, [
      "registry.example.com/ml/",
      "ghcr.io/org/trainer:1.2",
    ]);
    assert.deepEqual(load([], { RESUMABLE_ALLOWED_IMAGES: "a/" }).settings.allowedImages, ["a/"]);
  });

  it("refuses an allowed image entry that is no registry, repository or pinned image, naming it", () => {
    for (const bad of ["ghcr.io/org/trainer:", "registry.example.com/ML", "registry.example.com/ml/../x", "https://registry.example.com/ml"]) {
      assert.throws(() => load([`--allowed-images=ghcr.io/org,${bad}`]), (err: Error) => err instanceof ConfigError && err.message.startsWith("--allowed-images: ") && err.message.includes(JSON.stringify(bad)), bad);
    }
  });

  it("relaxed security contexts are refused unless --allow-relaxed-security-context=true (or its variable)", () => {
    assert.equal(load([]).settings.allowRelaxedSecurityContext, false);
    assert.equal(load(["--allow-relaxed-security-context=true"]).settings.allowRelaxedSecurityContext, true);
    assert.equal(load([], { RESUMABLE_ALLOW_RELAXED_SECURITY_CONTEXT: "true" }).settings.allowRelaxedSecurityContext, true);
    assert.throws(() => load(["--allow-relaxed-security-context=yes"]), /--allow-relaxed-security-context: /);
  });

  it("reads the price table as JSON from --prices or RESUMABLE_PRICES; none by default", () => {
    assert.deepEqual(load([]).settings.prices, {});
    const table = { currency: "USD", instanceTypes: { "n1-standard-4": { spot: 0.35, onDemand: 1.1 } }, perGpu: { spot: 0.3, onDemand: 0.9 } };
    assert.deepEqual(load([`--prices=${JSON.stringify(table)}`]).settings.prices, table);
    assert.deepEqual(load([], { RESUMABLE_PRICES: JSON.stringify(table) }).settings.prices, table);
  });

  it("refuses a price table that is no JSON, or a price that is no number, naming where", () => {
    assert.throws(() => load(["--prices={spot: 1"]), /--prices: not JSON/);
    assert.throws(() => load(['--prices={"perGpu":{"spot":"cheap","onDemand":1}}']), /--prices perGpu\.spot: /);
    assert.throws(() => load(['--prices={"perGPU":{"spot":1,"onDemand":1}}']), /--prices: .*perGPU/);
  });

  it("the progress write interval: 15 s by default, 0 (every report) allowed, never negative", () => {
    assert.equal(load([]).settings.progressWriteIntervalSeconds, 15);
    assert.equal(load(["--progress-write-interval-seconds=0"]).settings.progressWriteIntervalSeconds, 0);
    assert.equal(load([], { RESUMABLE_PROGRESS_WRITE_INTERVAL_SECONDS: "30" }).settings.progressWriteIntervalSeconds, 30);
    assert.throws(() => load(["--progress-write-interval-seconds=-1"]), /--progress-write-interval-seconds/);
  });

  it("the bound on a returned pod's wait for spot: 300 s by default, set by flag or environment, at least 1", () => {
    assert.equal(load([]).settings.returnToSpotPendingSeconds, 300);
    assert.equal(load(["--return-to-spot-pending-seconds=20"]).settings.returnToSpotPendingSeconds, 20);
    assert.equal(load([], { RESUMABLE_RETURN_TO_SPOT_PENDING_SECONDS: "600" }).settings.returnToSpotPendingSeconds, 600);
    assert.throws(() => load(["--return-to-spot-pending-seconds=0"]), /--return-to-spot-pending-seconds/);
    assert.equal(load([]).settings.spotDisruptionsPerHour, 1);
    assert.equal(load(["--spot-disruptions-per-hour=0.5"]).settings.spotDisruptionsPerHour, 0.5);
    assert.throws(() => load(["--spot-disruptions-per-hour=-1"]), /--spot-disruptions-per-hour/);
  });

  it("takes flags over environment variables over defaults", () => {
    const c = load(["--namespaces=a, b,a", "--metrics-port=9000", "--leader-elect=false"], {
      RESUMABLE_NAMESPACES: "x",
      RESUMABLE_LOG_LEVEL: "debug",
      RESUMABLE_TRAINER_SERVICE_ACCOUNT: "trainer",
      RESUMABLE_LEADER_ELECTION_NAMESPACE: "ops",
    });
    assert.deepEqual(c.namespaces, ["a", "b"]);
    assert.equal(c.metrics.port, 9000);
    assert.equal(c.logLevel, "debug");
    assert.equal(c.leaderElection.enabled, false);
    assert.equal(c.leaderElection.namespace, "ops");
    assert.equal(c.settings.trainerServiceAccountName, "trainer");
  });

  it("reads an empty value as unset, as a chart may pass one", () => {
    const c = load(["--trainer-service-account=", "--namespaces="]);
    assert.equal(c.settings.trainerServiceAccountName, undefined);
    assert.deepEqual(c.namespaces, []);
  });

  it("rejects unknown flags and bad values, naming the flag", () => {
    assert.throws(() => load(["--nope=1"]), ConfigError);
    assert.throws(() => load(["--metrics-port=http"]), /--metrics-port/);
    assert.throws(() => load(["--leader-elect=yes"]), /--leader-elect/);
    assert.throws(() => load(["--workers=0"]), /--workers/);
  });

  it("answers --help", () => {
    assert.equal(loadConfig(["--help"], {}), "help");
  });
});
