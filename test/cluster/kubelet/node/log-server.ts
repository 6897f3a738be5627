// The kubelet's read-only HTTPS endpoint for `kubectl logs`: the apiserver
// proxies GET /containerLogs/<ns>/<pod>/<container> to the node's daemon
// endpoint. One server answers for every node (they share the machine); it
// serves the per-container log files, with follow, previous, tailLines and
// limitBytes. The certificate is self-signed: the apiserver does not check
// kubelet serving certificates unless told to.
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "../log.js";

export interface LogSource {
  /** The uid of the pod as the API has it now. */
  podUid(namespace: string, name: string): string | undefined;
  /** Whether the container's current instance still runs (a follow ends when it doesn't). */
  running(namespace: string, name: string, container: string): boolean;
}

const FOLLOW_POLL_MS = 250;

function ensureCertificate(dir: string): { key: Buffer; cert: Buffer } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, "kubelet.key");
  const cert = join(dir, "kubelet.crt");
  if (!existsSync(cert)) {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=process-kubelet",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
    ], { stdio: "ignore" });
  }
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** The log file of the latest instance, or of the one before with `previous`. */
function logFile(dir: string, previous: boolean): string | undefined {
  if (!existsSync(dir)) return undefined;
  const instances = readdirSync(dir)
    .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const n = instances[instances.length - (previous ? 2 : 1)];
  return n === undefined ? undefined : join(dir, `${n}.log`);
}

function readFrom(file: string, offset: number): Buffer {
  const size = statSync(file).size;
  if (size <= offset) return Buffer.alloc(0);
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

function tail(content: Buffer, lines: number): Buffer {
  const text = content.toString("utf8");
  const parts = text.split("\n");
  const trailing = text.endsWith("\n") ? 1 : 0;
  return Buffer.from(parts.slice(Math.max(0, parts.length - trailing - lines)).join("\n"), "utf8");
}

function fail(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(message);
}

export async function startLogServer(stateDir: string, source: LogSource, log: Logger): Promise<{ port: number; server: Server }> {
  const server = createServer(ensureCertificate(join(stateDir, "pki")), (req, res) => {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== "GET" || !match) return fail(res, 404, "the process kubelet serves only /containerLogs");
    const [ns, pod, container] = match.slice(1).map(decodeURIComponent) as [string, string, string];
    const uid = source.podUid(ns, pod);
    const file = uid && logFile(join(stateDir, "logs", `${ns}_${pod}_${uid}`, container), url.searchParams.get("previous") === "true");
    if (!file) return fail(res, 404, `container "${container}" in pod "${pod}" has no logs`);

    let body = readFrom(file, 0);
    let offset = body.length;
    const tailLines = Number(url.searchParams.get("tailLines") ?? NaN);
    if (Number.isFinite(tailLines)) body = tail(body, tailLines);
    const limit = Number(url.searchParams.get("limitBytes") ?? NaN);
    if (Number.isFinite(limit)) body = body.subarray(0, limit);
    res.writeHead(200, { "content-type": "text/plain" });
    res.write(body);
    if (url.searchParams.get("follow") !== "true") return res.end();

    const timer = setInterval(() => {
      const more = readFrom(file, offset);
      offset += more.length;
      if (more.length) res.write(more);
      else if (!source.running(ns, pod, container)) {
        clearInterval(timer);
        res.end();
      }
    }, FOLLOW_POLL_MS);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  log.info({ port }, "log server listening");
  return { port, server };
}
