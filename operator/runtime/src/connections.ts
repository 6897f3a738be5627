// One connection pool per cluster and credentials, instead of one per request.
//
// @kubernetes/client-node 2.0.1 builds a new undici Agent in every
// applySecurityAuthentication (KubeConfig.createDispatcher), so each API call opens its own
// TLS connection and builds a new SecureContext: in the operator's profile at 1,000 runs,
// TLS set-up was 11 % of its CPU (createSecureContext and handshakes), on top of a round trip
// per call. client-go and kube-rs keep one pool per client; this does the same for a
// KubeConfig, keyed by what the dispatcher is built from, so new credentials (a rotated
// certificate) get a new pool and the old one is closed.
import { createHash } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";

type Dispatcher = { close?: () => Promise<void> } | undefined;
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher;

/** Pools kept at once: a certificate rotation adds one; older ones are closed. */
const KEPT = 4;

/** Makes `kc` reuse one connection pool per cluster and credentials; returns it. */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const patchable = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = patchable.createDispatcher.bind(kc);
  const pools = new Map<string, Dispatcher>();
  patchable.createDispatcher = (cluster, agentOptions) => {
    const key = dispatcherKey(cluster, agentOptions);
    if (!pools.has(key)) {
      while (pools.size >= KEPT) {
        const [oldest, pool] = pools.entries().next().value as [string, Dispatcher];
        pools.delete(oldest);
        void pool?.close?.().catch(() => undefined);
      }
      pools.set(key, create(cluster, agentOptions));
    }
    return pools.get(key);
  };
  return kc;
}

/** A digest of everything the dispatcher depends on (certificates and keys included, never kept). */
function dispatcherKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const c = (cluster ?? {}) as { name?: string; server?: string; proxyUrl?: string; skipTLSVerify?: boolean };
  const hash = createHash("sha256");
  hash.update(JSON.stringify([c.name, c.server, c.proxyUrl, c.skipTLSVerify]));
  for (const field of ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"]) {
    const value = agentOptions[field];
    hash.update(`\0${field}=`);
    if (value !== undefined) hash.update(Buffer.isBuffer(value) ? value : JSON.stringify(value));
  }
  return hash.digest("hex");
}
