// Kubeconfig files for the local cluster. Written as JSON, which is valid
// YAML, so neither kubectl nor client-node needs anything else to read them.
import { readFileSync, writeFileSync } from "node:fs";

export function writeKubeconfig(path: string, server: string, caCert: string, user: string, token: string): void {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "resumable-local", cluster: { server, "certificate-authority-data": readFileSync(caCert).toString("base64") } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "resumable-local", context: { cluster: "resumable-local", user } }],
    "current-context": "resumable-local",
  };
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}

/**
 * A copy of `source` whose contexts default to `namespace`: kubectl, the CLI and client-node
 * then act in that namespace wherever a command names none, as a user's own context would.
 */
export function writeNamespacedKubeconfig(source: string, path: string, namespace: string): void {
  const config = JSON.parse(readFileSync(source, "utf8")) as { contexts: { context: Record<string, string> }[] };
  for (const c of config.contexts) c.context.namespace = namespace;
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}
