import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { parseCheckpointRequest, type CheckpointRequest } from "@resumable/protocol";
import type { Logger } from "../log.js";

/** How often the request file is looked at besides the directory watch: one stat a second, off the training loop. */
export const REQUEST_POLL_MS = 1000;

/**
 * Watches the projected checkpoint-request file (docs/trainer-protocol.md, "Checkpoint
 * requests"), never on the step path: a step reads `pending`, a field. The kubelet swaps a
 * projected volume's `..data` symlink by rename, which the volume directory's watch (inotify:
 * no privilege, no API access) reports at once; the timer looks anyway, for a file system or
 * a kubelet whose update no watch sees, so a missed event costs at most a second (the timer
 * alone cost up to one on every notice). Each look is one stat; the file is
 * read only when its identity or mtime changed (a new value is a new inode). A request is
 * pending once per id: a repeat of the same annotation, or the file re-projected, asks for nothing.
 */
export class CheckpointRequests {
  /** The newest request not yet taken by a step boundary. */
  pending: CheckpointRequest | undefined;
  private readonly seen = new Set<string>();
  private lastIdentity = "";
  private lastInvalid = "";
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private polling = false;
  /** A look was asked for while one ran: the file may have changed after that one's stat. */
  private again = false;

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly pollMs = REQUEST_POLL_MS,
  ) {}

  start(): void {
    if (!this.file) {
      this.log.info("checkpoint requests off (RESUMABLE_CHECKPOINT_REQUEST_FILE is empty)");
      return;
    }
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, () => void this.poll());
      this.watcher.on("error", () => this.unwatch()); // the timer goes on
    } catch {
      // No volume (not under the operator), or no watch on this file system: the timer alone.
    }
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch();
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** The pending request, now owned by the caller; undefined when there is none. */
  take(): CheckpointRequest | undefined {
    const request = this.pending;
    this.pending = undefined;
    return request;
  }

  /** One look at the file; public so tests need no timer. */
  async poll(): Promise<void> {
    if (!this.file) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = true;
    try {
      const s = await stat(this.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined; // no volume (not under the operator): nothing asked
        throw err;
      });
      const identity = s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}` : "";
      if (identity === this.lastIdentity) return;
      this.lastIdentity = identity;
      if (!s) return;
      this.accept(await readFile(this.file, "utf8"));
    } catch (err) {
      // Unreadable is not "no request": say so, and look again at the next tick.
      this.lastIdentity = "";
      this.log.warn({ file: this.file, reason: (err as Error).message }, "cannot read the checkpoint request file");
    } finally {
      this.polling = false;
      if (this.again) {
        this.again = false;
        void this.poll();
      }
    }
  }

  private accept(text: string): void {
    const parsed = parseCheckpointRequest(text);
    if (parsed.kind === "invalid") {
      if (parsed.reason !== this.lastInvalid) this.log.warn({ file: this.file, reason: parsed.reason }, "ignoring a malformed checkpoint request");
      this.lastInvalid = parsed.reason;
      return;
    }
    if (parsed.kind === "none" || this.seen.has(parsed.request.id)) return;
    this.seen.add(parsed.request.id);
    this.pending = parsed.request;
    this.log.info({ requestId: parsed.request.id, reason: parsed.request.reason, at: parsed.request.at }, "checkpoint requested: saving at the next step boundary");
  }
}
