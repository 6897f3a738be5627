import { ConfigError } from "./errors.js";

/** Everything the trainer reads from its environment (see docs/trainer-protocol.md). */
export interface TrainerEnv {
  checkpointDir: string;
  inlineConfig: string | undefined;
  run: string | undefined;
  /** RESUMABLE_ALLOW_FRESH_START=true: start from step 0 when checkpoints exist but none loads. */
  allowFreshStart: boolean;
  /** undefined outside the operator: fencing is then off (logged). */
  attempt: number | undefined;
  terminationLog: string;
  pod: { name: string; namespace: string } | undefined;
  metrics: { host: string | undefined; port: number };
  progressSeconds: number;
  /** The API server and service-account files for progress reports; undefined when not in a pod. */
  apiServer: { host: string; port: string; serviceAccountDir: string } | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv): TrainerEnv {
  const checkpointDir = env.RESUMABLE_CHECKPOINT_DIR;
  if (checkpointDir === undefined || checkpointDir === "") {
    throw new ConfigError("RESUMABLE_CHECKPOINT_DIR is required: the directory checkpoints are written to");
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  return {
    checkpointDir,
    inlineConfig: env.RESUMABLE_CONFIG,
    run: env.RESUMABLE_RUN,
    allowFreshStart: optionalBoolean(env, "RESUMABLE_ALLOW_FRESH_START"),
    attempt: optionalInt(env, "RESUMABLE_ATTEMPT", 1),
    terminationLog: env.RESUMABLE_TERMINATION_LOG || "/dev/termination-log",
    pod:
      env.RESUMABLE_POD_NAME && env.RESUMABLE_POD_NAMESPACE
        ? { name: env.RESUMABLE_POD_NAME, namespace: env.RESUMABLE_POD_NAMESPACE }
        : undefined,
    metrics: { host: env.RESUMABLE_POD_IP || undefined, port: optionalInt(env, "RESUMABLE_METRICS_PORT", 0) ?? 9090 },
    progressSeconds: optionalInt(env, "RESUMABLE_PROGRESS_SECONDS", 1) ?? 5,
    apiServer:
      host && port
        ? {
            host,
            port,
            serviceAccountDir: env.RESUMABLE_SERVICEACCOUNT_DIR || "/var/run/secrets/kubernetes.io/serviceaccount",
          }
        : undefined,
  };
}

function optionalInt(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name}=${JSON.stringify(text)}: expected an integer >= ${min}`);
  }
  return value;
}

function optionalBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name];
  if (text === undefined || text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigError(`${name}=${JSON.stringify(text)}: expected true or false`);
}
