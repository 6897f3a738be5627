import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CommittedCheckpoint } from "../checkpoint/store.js";
import type { Logger } from "../log.js";

const prefix = "resumable_trainer_";

/** Prometheus metrics for one trainer process, in their own registry. */
export class TrainerMetrics {
  readonly registry = new Registry();
  private readonly step = this.gauge("step", "Training steps completed");
  private readonly loss = this.gauge("loss", "Loss of the last step");
  private readonly examplesPerSecond = this.gauge("examples_per_second", "Training throughput over the last reporting interval");
  private readonly checkpointSeconds = new Histogram({
    name: `${prefix}checkpoint_duration_seconds`,
    help: "Time to write and commit one checkpoint",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly checkpointBytes = this.gauge("checkpoint_bytes", "Size of the last committed checkpoint");
  private readonly lastCheckpointStep = this.gauge("last_checkpoint_step", "Step of the last committed checkpoint");
  private readonly lastCheckpointTime = this.gauge("last_checkpoint_timestamp_seconds", "Unix time of the last committed checkpoint");
  /** Under everySteps: "auto": the interval the trainer chose (save-interval.ts). */
  readonly checkpointIntervalSteps = this.gauge("checkpoint_interval_steps", 'Steps between periodic checkpoints, as everySteps: "auto" chose them');
  readonly checkpointFailures = new Counter({
    name: `${prefix}checkpoint_failures_total`,
    help: "Checkpoint saves that failed",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix });
  }

  recordStep(step: number, loss: number, examplesPerSecond: number | undefined): void {
    this.step.set(step);
    this.loss.set(loss);
    if (examplesPerSecond !== undefined) this.examplesPerSecond.set(examplesPerSecond);
  }

  recordCheckpoint(c: CommittedCheckpoint): void {
    this.checkpointSeconds.observe(c.saveSeconds);
    this.checkpointBytes.set(c.bytes);
    this.lastCheckpointStep.set(c.step);
    this.lastCheckpointTime.set(c.time.getTime() / 1000);
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name: `${prefix}${name}`, help, registers: [this.registry] });
  }
}

/** Serves GET /metrics; resolves once listening. Port 0 here means "any free port" (tests). */
export async function serveMetrics(metrics: TrainerMetrics, host: string | undefined, port: number, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address();
  log.info({ address }, "metrics server listening on /metrics");
  return server;
}
