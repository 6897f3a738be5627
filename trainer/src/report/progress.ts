import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { PROGRESS_ANNOTATION, type ProgressReport } from "@resumable/protocol";
import type { TrainerEnv } from "../config/env.js";
import type { Logger } from "../log.js";

/** The annotation's value (docs/trainer-protocol.md, "Progress while running"). */
export type Progress = ProgressReport;

/**
 * Merge-patches the trainer's own pod annotation with its progress, every interval and right
 * after each checkpoint commit. Off the training path: the loop only replaces `current`; a
 * timer sends it, one request at a time, and a failure is logged and dropped. node:https
 * rather than fetch, because Node 20's fetch cannot be given the cluster CA.
 */
export class ProgressReporter {
  private current: Progress | undefined;
  /** The request in flight, if any: one at a time, and the last report waits for it. */
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSent: string | undefined;

  constructor(
    private readonly env: TrainerEnv,
    private readonly log: Logger,
  ) {}

  /** Starts the timer, or logs once why progress is not reported. */
  start(): void {
    if (!this.env.pod || !this.env.apiServer) {
      this.log.info("progress reports off: not in a pod (RESUMABLE_POD_NAME/NAMESPACE or KUBERNETES_SERVICE_HOST/PORT unset)");
      return;
    }
    const token = join(this.env.apiServer.serviceAccountDir, "token");
    if (!existsSync(token)) {
      this.log.info({ token }, "progress reports off: no service-account token (automountServiceAccountToken: false?)");
      return;
    }
    this.timer = setInterval(() => void this.send(), this.env.progressSeconds * 1000);
    this.timer.unref();
  }

  update(progress: Progress): void {
    this.current = progress;
  }

  /** After a commit: report now rather than at the next tick. */
  sendSoon(): void {
    if (this.timer) setImmediate(() => void this.send());
  }

  /**
   * One last report at exit, awaited (bounded by the request timeout). A report still in
   * flight (the one right after the final commit, say) carries older progress: it is waited
   * for, then the newest is sent, so the exit never drops the last word.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.timer) return;
    await this.sending;
    await this.send();
  }

  private send(): Promise<void> {
    if (this.sending) return this.sending;
    this.sending = this.sendCurrent().finally(() => (this.sending = undefined));
    return this.sending;
  }

  private async sendCurrent(): Promise<void> {
    const pod = this.env.pod;
    const api = this.env.apiServer;
    if (!this.current || !pod || !api) return;
    const value = JSON.stringify({ ...this.current, updatedAt: undefined });
    if (value === this.lastSent) return;
    try {
      const [token, ca] = await Promise.all([
        readFile(join(api.serviceAccountDir, "token"), "utf8"), // re-read: projected tokens rotate
        readFile(join(api.serviceAccountDir, "ca.crt")),
      ]);
      const body = JSON.stringify({
        metadata: { annotations: { [PROGRESS_ANNOTATION]: JSON.stringify({ ...this.current, updatedAt: new Date().toISOString() }) } },
      });
      await patch(api.host, api.port, `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`, body, token.trim(), ca);
      this.lastSent = value;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, "progress report failed; will retry at the next interval");
    }
  }
}

function patch(host: string, port: string, path: string, body: string, token: string, ca: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        method: "PATCH",
        ca,
        timeout: 5000,
        headers: { "content-type": "application/merge-patch+json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode! < 300 ? resolve() : reject(new Error(`PATCH ${path}: HTTP ${res.statusCode}`))));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`PATCH ${path}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}
