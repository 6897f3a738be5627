#!/usr/bin/env node
import { KubeConfig } from "@kubernetes/client-node";
import { reuseConnections } from "@resumable/kube-runtime";
import { ConfigError, loadConfig, USAGE, type OperatorConfig } from "./config/config.js";
import { startOperator } from "./controller/operator.js";
import { createLogger } from "./log/logger.js";

/**
 * resumable-operator: the operator process. Exit codes: 0 after SIGTERM/SIGINT,
 * 1 when leadership is lost or startup fails, 2 for bad flags.
 */
async function main(): Promise<number> {
  let config: OperatorConfig | "help";
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`resumable-operator: ${err.message} (see --help)\n`);
    return 2;
  }
  if (config === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger(config.logLevel);
  // KUBECONFIG or ~/.kube/config outside a cluster, the pod's service account inside one.
  const kc = reuseConnections(new KubeConfig());
  try {
    kc.loadFromDefault();
  } catch (err) {
    process.stderr.write(`resumable-operator: cannot load a kubeconfig (KUBECONFIG=${process.env.KUBECONFIG ?? "unset"}): ${(err as Error).message}\n`);
    return 1;
  }
  if (!kc.getCurrentCluster()) {
    process.stderr.write("resumable-operator: no cluster configured: set KUBECONFIG or run inside a cluster\n");
    return 1;
  }
  logger.info({ identity: config.identity, server: kc.getCurrentCluster()?.server }, "starting");
  const operator = await startOperator(config, kc, logger);

  const signalled = new Promise<string>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolve(signal));
  });
  const reason = await Promise.race([signalled, operator.lostLeadership.then(() => "lost leadership")]);
  logger.info({ reason }, "shutting down");
  await operator.stop();
  logger.info("stopped");
  return reason === "lost leadership" ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`resumable-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
