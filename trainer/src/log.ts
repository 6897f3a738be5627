import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout, written synchronously: the summary printed at exit must come after
 * every log line, and nothing may be lost when the process exits right after logging.
 */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? "info", base: bindings }, pino.destination({ fd: 1, sync: true }));
}
