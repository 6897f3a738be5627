// The terminated state's message, as the kubelet builds it: the container's
// termination-message file (at most 4 KiB), or with FallbackToLogsOnError
// and a failed, silent container, the tail of its log (80 lines, 2 KiB).
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { Container } from "../../api/types.js";

const MAX_MESSAGE_BYTES = 4096;
const MAX_LOG_BYTES = 2048;
const MAX_LOG_LINES = 80;

function readHead(file: string, max: number): string {
  try {
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(max);
      const n = readSync(fd, buf, 0, max, 0);
      return buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

function tailOfLog(file: string): string {
  try {
    const size = statSync(file).size;
    const start = Math.max(0, size - MAX_LOG_BYTES);
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString("utf8").split("\n").slice(-MAX_LOG_LINES - 1).join("\n");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

export function terminationMessage(container: Container, messageFile: string, logFile: string, exitCode: number): string {
  const message = readHead(messageFile, MAX_MESSAGE_BYTES);
  if (message || container.terminationMessagePolicy !== "FallbackToLogsOnError" || exitCode === 0) return message;
  return tailOfLog(logFile);
}
