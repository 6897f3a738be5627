// An add-on controller manager (Kueue, JobSet) run as a host process beside the local cluster,
// installed as its own release installs it: its CRDs and webhook configurations come from the
// module its binary was built from (the build script renders them as crds.yaml and
// webhooks.yaml beside the binary). What differs is where its webhooks live. In a cluster they
// sit behind a Service; here the manager serves them on 127.0.0.1 and every clientConfig (the
// admission webhooks' and the CRDs' conversion webhook) becomes a `url` with our CA as its
// caBundle. A Service cannot point at the host: Endpoints reject 127.0.0.0/8. A URL webhook is
// checked only for https, a host, and no user, query or fragment, so loopback is accepted, and
// the apiserver (on this host) dials it directly.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseAllDocuments } from "yaml";
import { crdEstablished, kubectl } from "../support/cluster.js";
import { builtDir } from "./binaries.js";
import { runningCluster, type Cluster } from "./cluster.js";
import { issueServingCert } from "./pki.js";
import { freePort, isAlive, startDetached, stopProcess, type Started } from "./processes.js";

export interface AddonPorts {
  /** The webhook server's port on 127.0.0.1. */
  webhook: number;
  /** The health probes' port on 127.0.0.1 (/readyz answers once the webhook server is up). */
  health: number;
}

export interface AddonSpec {
  /** The binary's name, and the prefix of everything it installs. */
  name: string;
  /** Its build script from the repository root: prints the directory with the binary, crds.yaml and webhooks.yaml. */
  buildScript: string;
  /** The apiVersion of its Configuration kind (kubebuilder's, which Kueue and JobSet both keep). */
  configApiVersion: string;
  /** Settings of its own, beside the ones every add-on here gets (see `configuration`). */
  settings?: Record<string, unknown>;
}

export interface Addon {
  process: Started;
  ports: AddonPorts;
  /** The manager's configuration as written. */
  configFile: string;
  stop(): Promise<void>;
}

type Manifest = { kind?: string; metadata?: { name?: string }; [key: string]: unknown };

/** The CA of the cluster in `stateDir` (startCluster keeps its keys in pki/). */
export function clusterCa(stateDir: string): { caCert: string; caKey: string } {
  return { caCert: join(stateDir, "pki", "ca.crt"), caKey: join(stateDir, "pki", "ca.key") };
}

/** Builds (when the cache lacks it), installs and starts the add-on; resolves once its webhooks answer. */
export async function startAddon(cluster: Pick<Cluster, "stateDir" | "kubeconfig" | "adopt">, spec: AddonSpec): Promise<Addon> {
  const bin = builtDir(spec.buildScript);
  const dir = join(cluster.stateDir, spec.name);
  const certDir = join(dir, "certs");
  mkdirSync(certDir, { recursive: true });
  // The cluster's CA signs the webhook's certificate, so the caBundle the apiserver checks it
  // against is the CA every client of this cluster already trusts.
  const ca = { dir: certDir, ...clusterCa(cluster.stateDir) };
  // controller-runtime's webhook server reads tls.crt and tls.key from its certDir.
  issueServingCert(ca, "tls", `${spec.name}-webhook`, ["IP:127.0.0.1"]);
  const ports: AddonPorts = { webhook: await freePort(), health: await freePort() };
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(configuration(spec, ports, certDir), null, 2) + "\n");

  const caBundle = readFileSync(ca.caCert).toString("base64");
  const local = (m: Manifest) => hostWebhooks(m, spec.name, `https://127.0.0.1:${ports.webhook}`, caBundle);
  const crds = manifests(join(bin, "crds.yaml")).map(local);
  await kubectl(cluster.kubeconfig, ["apply", "--server-side", "--force-conflicts", "-f", "-"], toList(crds));
  for (const crd of crds) await crdEstablished(cluster.kubeconfig, crd.metadata?.name ?? "");

  const log = join(cluster.stateDir, "logs", `${spec.name}.log`);
  const started = startDetached(spec.name, join(bin, spec.name), [`--config=${configFile}`], log,
    { ...process.env, KUBECONFIG: cluster.kubeconfig });
  cluster.adopt(started);
  await waitReady(started, ports.health);
  // Only now: with failurePolicy Fail, a webhook configured before its server answers would
  // refuse every object it covers (every pod, for Kueue) in the meantime.
  const webhooks = manifests(join(bin, "webhooks.yaml")).filter((m) => m.kind !== "Service").map(local);
  await kubectl(cluster.kubeconfig, ["apply", "--server-side", "--force-conflicts", "-f", "-"], toList(webhooks));
  return { process: started, ports, configFile, stop: () => stopProcess(started.pid) };
}

/** The manager's configuration file: JSON, which its YAML loader reads. */
function configuration(spec: AddonSpec, ports: AddonPorts, certDir: string): object {
  return {
    apiVersion: spec.configApiVersion,
    kind: "Configuration",
    // Its webhooks are configured here with our CA: no rotator, no Secret, no Service.
    internalCertManagement: { enable: false },
    webhook: { host: "127.0.0.1", port: ports.webhook, certDir },
    health: { healthProbeBindAddress: `127.0.0.1:${ports.health}` },
    // "0" turns the metrics server off: several clusters share this host, and no test reads it yet.
    metrics: { bindAddress: "0" },
    // One manager per cluster: nothing to elect.
    leaderElection: { leaderElect: false },
    ...spec.settings,
  };
}

/**
 * `make cluster-up KUEUE=1` (or JOBSET=1): starts an add-on beside the cluster cluster-up left
 * in .cluster/ (or $RESUMABLE_CLUSTER_DIR); `make cluster-down` stops it with the rest.
 */
export async function upBesideCluster(name: string, start: (cluster: ReturnType<typeof runningCluster>) => Promise<Addon>): Promise<void> {
  try {
    const addon = await start(runningCluster(resolve(process.env.RESUMABLE_CLUSTER_DIR ?? ".cluster")));
    console.log(`${name} up beside the local cluster (pid ${addon.process.pid}, webhooks on 127.0.0.1:${addon.ports.webhook}); log: ${addon.process.log}`);
  } catch (err) {
    console.error(`${name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => !!m);
}

function toList(items: Manifest[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/**
 * Every `clientConfig.service` in the manifest becomes a URL on the host with the path the
 * service had; webhook configurations get the add-on's name as a prefix (kubebuilder names
 * every project's "mutating-webhook-configuration", so two add-ons would overwrite each other).
 */
export function hostWebhooks(m: Manifest, prefix: string, base: string, caBundle: string): Manifest {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const service = k === "clientConfig" ? (child as { service?: { path?: string } }).service : undefined;
      out[k] = service ? { url: `${base}${service.path ?? "/"}`, caBundle } : walk(child);
    }
    return out;
  };
  const copy = walk(m) as Manifest;
  if (copy.kind?.endsWith("WebhookConfiguration") && copy.metadata?.name) {
    copy.metadata = { ...copy.metadata, name: `${prefix}-${copy.metadata.name}` };
  }
  return copy;
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/readyz", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitReady(p: Started, healthPort: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (await readyz(healthPort)) return;
    if (!isAlive(p.pid)) throw new Error(`${p.name} exited during start-up; see ${p.log}`);
    await sleep(250);
  }
  throw new Error(`${p.name} not ready after 120 s; see ${p.log}`);
}
