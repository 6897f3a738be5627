// JSON lines on stdout, one logger for the whole process; components add
// their own bindings (node, pod) with child().
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(): Logger {
  return pino({ name: "kubelet", level: process.env.LOG_LEVEL ?? "info", base: { pid: process.pid } });
}
