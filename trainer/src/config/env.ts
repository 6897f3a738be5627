import { ENV, SIGTERM_MODES, type SigtermMode } from "@resumable/protocol";
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
  /** RESUMABLE_SIGTERM: "die" is the benchmarks' baseline without a final flush (signals/stop.ts). */
  sigterm: SigtermMode;
  /** The API server and service-account files for progress reports; undefined when not in a pod. */
  apiServer: { host: string; port: string; serviceAccountDir: string } | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv): TrainerEnv {
  const checkpointDir = env[ENV.checkpointDir];
  if (checkpointDir === undefined || checkpointDir === "") {
    throw new ConfigError(`${ENV.checkpointDir} is required: the directory checkpoints are written to`);
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const podName = env[ENV.podName];
  const podNamespace = env[ENV.podNamespace];
  return {
    checkpointDir,
    inlineConfig: env[ENV.config],
    run: env[ENV.run],
    allowFreshStart: optionalBoolean(env, ENV.allowFreshStart),
    attempt: optionalInt(env, ENV.attempt, 1),
    terminationLog: env[ENV.terminationLog] || "/dev/termination-log",
    pod:
      podName && podNamespace
        ? { name: podName, namespace: podNamespace }
        : undefined,
    metrics: { host: env[ENV.podIp] || undefined, port: optionalInt(env, ENV.metricsPort, 0) ?? 9090 },
    progressSeconds: optionalInt(env, ENV.progressSeconds, 1) ?? 5,
    sigterm: sigtermMode(env),
    apiServer:
      host && port
        ? {
            host,
            port,
            serviceAccountDir: env[ENV.serviceAccountDir] || "/var/run/secrets/kubernetes.io/serviceaccount",
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

function sigtermMode(env: NodeJS.ProcessEnv): SigtermMode {
  const text = env[ENV.sigterm];
  if (text === undefined || text === "") return "flush";
  const mode = SIGTERM_MODES.find((m) => m === text);
  if (!mode) throw new ConfigError(`${ENV.sigterm}=${JSON.stringify(text)}: expected ${SIGTERM_MODES.join(" or ")}`);
  return mode;
}

function optionalBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name];
  if (text === undefined || text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigError(`${name}=${JSON.stringify(text)}: expected true or false`);
}
