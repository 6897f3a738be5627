// A real Prometheus on 127.0.0.1 for tests: an empty TSDB in a temp dir, the
// given scrape jobs and rule files, queried through its HTTP API. With no jobs
// it still parses every query, which is how the chart tests validate PromQL.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { freePort, isAlive, startDetached, stopProcess } from "../cluster/processes.js";
import { tool } from "./tools.js";

export interface PrometheusOptions {
  /** scrape_configs entries (see scrape-config.ts). */
  scrapeJobs?: object[];
  /** Rule files (Prometheus' format: `groups:`), loaded and evaluated. */
  ruleFiles?: string[];
  /** Global scrape and rule evaluation interval; short, so tests see data soon. */
  interval?: string;
}

/** One series of a query result: `value` for an instant query, `values` for a range query. */
export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface Prometheus {
  url: string;
  dir: string;
  /** An instant query; rejects with Prometheus' error for invalid PromQL. */
  query(expr: string): Promise<Sample[]>;
  /** A range query, as Grafana runs a time-series panel; `stepSeconds` between points. */
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<Sample[]>;
  /** GET on the HTTP API, e.g. `/api/v1/targets`; rejects unless status is "success". */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  stop(): Promise<void>;
}

export class PrometheusError extends Error {}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "resumable-prometheus-"));
  const interval = opts.interval ?? "2s";
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: opts.scrapeJobs ?? [],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = join(dir, "prometheus.log");
  const started = startDetached("prometheus", tool("prometheus"), [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], log);

  const stop = async () => {
    await stopProcess(started.pid);
    rmSync(dir, { recursive: true, force: true });
  };

  async function api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status !== "success") throw new PrometheusError(`${body.errorType}: ${body.error}`);
    return body.data;
  }

  try {
    await waitReady(url, started.pid);
  } catch (err) {
    const tail = readFileSync(log, "utf8").split("\n").slice(-20).join("\n");
    await stop();
    throw new Error(`${(err as Error).message}; its log ends:\n${tail}`);
  }
  return {
    url,
    dir,
    api,
    query: async (expr) => (await api<{ result: Sample[] }>("/api/v1/query", { query: expr })).result,
    queryRange: async (expr, start, end, stepSeconds) =>
      (
        await api<{ result: Sample[] }>("/api/v1/query_range", {
          query: expr,
          start: String(start.getTime() / 1000),
          end: String(end.getTime() / 1000),
          step: String(stepSeconds),
        })
      ).result,
    stop,
  };
}

async function waitReady(url: string, pid: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error("prometheus exited during start-up");
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) return;
    await sleep(100);
  }
  throw new Error("prometheus not ready after 60 s");
}
