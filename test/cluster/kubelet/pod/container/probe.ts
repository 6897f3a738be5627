// Readiness and liveness probes, as the kubelet's prober runs them: after
// initialDelaySeconds, every periodSeconds, each attempt bounded by
// timeoutSeconds; the result turns true after successThreshold successes in
// a row and false after failureThreshold failures. httpGet and tcpSocket go
// to the pod IP; exec runs inside the container's mount namespace with its
// environment.
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Container, Probe } from "../../api/types.js";

export interface ProbeTarget {
  podIP: string;
  pid: number;
  env: Record<string, string>;
}

function portOf(container: Container, port: number | string): number {
  if (typeof port === "number") return port;
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  return named ?? Number(port);
}

function httpGet(probe: NonNullable<Probe["httpGet"]>, host: string, port: number, timeoutMs: number): Promise<boolean> {
  const request = probe.scheme === "HTTPS" ? httpsRequest : httpRequest;
  const headers = Object.fromEntries((probe.httpHeaders ?? []).map((h) => [h.name, h.value]));
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: probe.path ?? "/", method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

function tcpSocket(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(false));
  });
}

function exec(command: string[], target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("nsenter", ["--target", String(target.pid), "--mount", "--", ...command], { env: target.env, timeout: timeoutMs }, (err) =>
      resolve(!err),
    );
  });
}

function attempt(container: Container, probe: Probe, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpGet(probe.httpGet, probe.httpGet.host ?? target.podIP, portOf(container, probe.httpGet.port), timeoutMs);
  if (probe.tcpSocket) return tcpSocket(probe.tcpSocket.host ?? target.podIP, portOf(container, probe.tcpSocket.port), timeoutMs);
  if (probe.exec) return exec(probe.exec.command, target, timeoutMs);
  return Promise.resolve(true);
}

/** Probes until stopped; `onResult` is called whenever the result flips (from unknown at first). */
export function startProbe(
  container: Container,
  probe: Probe,
  target: ProbeTarget,
  onResult: (ok: boolean) => void,
): () => void {
  let result: boolean | undefined;
  let successes = 0;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout;
  const tick = async () => {
    const ok = await attempt(container, probe, target);
    if (stopped) return;
    successes = ok ? successes + 1 : 0;
    failures = ok ? 0 : failures + 1;
    if (result !== true && successes >= (probe.successThreshold ?? 1)) {
      result = true;
      onResult(true);
    } else if (result !== false && failures >= (probe.failureThreshold ?? 3)) {
      result = false;
      onResult(false);
    }
    timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
  };
  timer = setTimeout(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
