// A stand-in for the API server a trainer reports its progress to: HTTPS on loopback with a
// self-signed certificate, a service-account directory with a token, every PATCH recorded.
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { tempDir } from "./trainer-process.js";

export interface Patch {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: { metadata: { annotations: Record<string, string> } };
}

/**
 * Answers every request with `status`, `delayMs` after it arrived (it is recorded on arrival);
 * `env` points a trainer at it (pod run-a-1 in team-x).
 */
export async function fakeApiServer(status: number, { delayMs = 0 } = {}) {
  const dir = await tempDir("trainer-sa-");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "ca.crt"), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" });
  await writeFile(join(dir, "token"), "test-token\n");
  const patches: Patch[] = [];
  const server = createHttpsServer({ key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "ca.crt")) }, (req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      patches.push({ method: req.method!, url: req.url!, headers: req.headers, body: JSON.parse(body) });
      setTimeout(() => res.writeHead(status).end("{}"), delayMs);
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const env = {
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port),
    RESUMABLE_SERVICEACCOUNT_DIR: dir,
    RESUMABLE_POD_NAME: "run-a-1",
    RESUMABLE_POD_NAMESPACE: "team-x",
    RESUMABLE_PROGRESS_SECONDS: "1",
  };
  return { env, patches, close: () => server.close() };
}

