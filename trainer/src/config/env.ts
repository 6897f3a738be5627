import { CHECKPOINT_REQUEST_FILE, CheckpointLocation, CheckpointLocationError, ENV, SIGTERM_MODES, type SigtermMode } from "@resumable/protocol";
import { ConfigError } from "../config-error.js";

/** Everything the trainer reads from its environment (see docs/trainer-protocol.md). */
export interface TrainerEnv {
  /** RESUMABLE_CHECKPOINT_DIR, or RESUMABLE_CHECKPOINT_URL (a bucket) and its settings. */
  checkpointLocation: CheckpointLocation;
  inlineConfig: string | undefined;
  run: string | undefined;
  /** RESUMABLE_RUN_UID: the run's uid, part of the owner recorded in the checkpoint location. */
  runUid: string | undefined;
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
  /** The projected checkpoint-request file; undefined when turned off (set to ""). */
  checkpointRequestFile: string | undefined;
  /** RESUMABLE_DISRUPTIONS_PER_HOUR: the operator's figure for `everySteps: "auto"`; undefined: the trainer's prior. */
  disruptionsPerHour: number | undefined;
}

/** The protocol's decoding, its refusals told as config errors (exit 2) like the rest of the environment's. */
function readLocation(env: NodeJS.ProcessEnv): CheckpointLocation {
  try {
    return CheckpointLocation.fromEnv(env);
  } catch (err) {
    if (err instanceof CheckpointLocationError) throw new ConfigError(err.message);
    throw err;
  }
}

export function readEnv(env: NodeJS.ProcessEnv): TrainerEnv {
  const checkpointLocation = readLocation(env);
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const podName = env[ENV.podName];
  const podNamespace = env[ENV.podNamespace];
  return {
    checkpointLocation,
    inlineConfig: env[ENV.config],
    run: env[ENV.run],
    runUid: env[ENV.runUid] || undefined,
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
    checkpointRequestFile: env[ENV.checkpointRequestFile] === "" ? undefined : (env[ENV.checkpointRequestFile] ?? CHECKPOINT_REQUEST_FILE),
    disruptionsPerHour: optionalRate(env, ENV.disruptionsPerHour),
  };
}

function optionalRate(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${name}=${JSON.stringify(text)}: expected a number >= 0 (hard losses per hour)`);
  return value;
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
