// Credentials for a throwaway local cluster: a CA, the apiserver's serving
// certificate, the service-account signing key pair, and static bearer tokens
// for the admin, the controller-manager and the scheduler. Certificates come
// from the openssl CLI (Node can read X.509 but not issue it); tokens are
// random per cluster, so two clusters on one machine never accept each
// other's credentials.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Identity {
  user: string;
  groups: string[];
  token: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  admin: Identity;
  controllerManager: Identity;
  scheduler: Identity;
}

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

function identity(user: string, groups: string[]): Identity {
  return { user, groups, token: randomBytes(24).toString("hex") };
}

/** `hostIps`: the machine's own addresses the apiserver also serves on (pods of the real node dial one). */
export function createPki(dir: string, hostIps: string[] = []): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    dir,
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    servingCert: p("apiserver.crt"),
    servingKey: p("apiserver.key"),
    serviceAccountKey: p("sa.key"),
    serviceAccountPub: p("sa.pub"),
    tokenFile: p("tokens.csv"),
    admin: identity("admin", ["system:masters"]),
    controllerManager: identity("system:kube-controller-manager", []),
    scheduler: identity("system:kube-scheduler", []),
  };

  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.caKey, "-out", pki.caCert,
    "-days", "365", "-subj", "/CN=resumable-local-ca"]);
  // The SANs cover every name an in-cluster client may use: loopback (the
  // process kubelet points KUBERNETES_SERVICE_HOST there), the machine's own
  // address (the `kubernetes` Service's endpoint), and the Service's IP and names.
  issueServingCert(pki, "apiserver", "kube-apiserver", [
    "IP:127.0.0.1", ...hostIps.map((ip) => `IP:${ip}`), "IP:10.0.0.1", "DNS:localhost",
    "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
  ]);

  openssl(["genrsa", "-out", pki.serviceAccountKey, "2048"]);
  openssl(["rsa", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub]);

  // Static token file: token,user,uid,"group1,group2"
  const rows = [pki.admin, pki.controllerManager, pki.scheduler].map(
    (id) => `${id.token},${id.user},${id.user},"${id.groups.join(",")}"`,
  );
  writeFileSync(pki.tokenFile, rows.join("\n") + "\n", { mode: 0o600 });
  return pki;
}

/**
 * Issues `<dir>/<name>.crt` and `.key`, a serving certificate signed by the cluster's CA for
 * `sans` ("IP:…", "DNS:…"): the apiserver's, and the host webhooks' of add-on controllers,
 * whose configurations then carry the CA as their caBundle.
 */
export function issueServingCert(pki: Pick<Pki, "dir" | "caCert" | "caKey">, name: string, cn: string, sans: string[]): { cert: string; key: string } {
  const p = (ext: string) => join(pki.dir, `${name}.${ext}`);
  writeFileSync(p("ext"), [
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${sans.join(",")}`,
  ].join("\n"));
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("key"), "-out", p("csr"), "-subj", `/CN=${cn}`]);
  openssl(["x509", "-req", "-in", p("csr"), "-CA", pki.caCert, "-CAkey", pki.caKey, "-CAcreateserial",
    "-out", p("crt"), "-days", "365", "-extfile", p("ext")]);
  return { cert: p("crt"), key: p("key") };
}
