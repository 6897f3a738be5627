import { pino, type Logger } from "pino";

/**
 * JSON logs on stdout, one object a line, with the level as a word and ISO timestamps
 * (readable by people and by log pipelines alike). Per-run code logs through
 * `logger.child({ namespace, run, attempt })`.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { component: "resumable-operator" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
