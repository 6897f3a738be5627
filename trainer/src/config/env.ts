import { CHECKPOINT_REQUEST_FILE, CheckpointLocation, CheckpointLocationError, ENV, GANG_ENV, SIGTERM_MODES, type SigtermMode } from "@resumable/protocol";
import { ConfigError } from "../config-error.js";

/** Everything the trainer reads from its environment (see docs/trainer-protocol.md). */
export interface TrainerEnv {
  /**
   * RESUMABLE_CHECKPOINT_DIR, or RESUMABLE_CHECKPOINT_URL (a bucket) and its settings. Undefined
   * only on a gang's ranks > 0: only rank 0 touches checkpoint storage, so the operator gives
   * the others none.
   */
  checkpointLocation: CheckpointLocation | undefined;
  /** This pod's place in its gang: rank 0 of 1 for a single pod (RESUMABLE_RANK, RESUMABLE_WORLD_SIZE unset). */
  gang: { rank: number; worldSize: number };
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

/**
 * RESUMABLE_RANK and RESUMABLE_WORLD_SIZE come together or not at all: one without the other
 * is a pod spec written by hand, and guessing the missing one would train the wrong gang.
 */
export function readGang(env: NodeJS.ProcessEnv): { rank: number; worldSize: number } {
  const rank = optionalInt(env, GANG_ENV.rank, 0);
  const worldSize = optionalInt(env, GANG_ENV.worldSize, 1);
  if (rank === undefined && worldSize === undefined) return { rank: 0, worldSize: 1 };
  if (rank === undefined || worldSize === undefined) {
    throw new ConfigError(`${rank === undefined ? GANG_ENV.rank : GANG_ENV.worldSize} is required with ${rank === undefined ? GANG_ENV.worldSize : GANG_ENV.rank}: a gang's rank and world size come together`);
  }
  if (rank >= worldSize) throw new ConfigError(`${GANG_ENV.rank}=${rank}: expected a rank below ${GANG_ENV.worldSize}=${worldSize}`);
  return { rank, worldSize };
}

export function readEnv(env: NodeJS.ProcessEnv): TrainerEnv {
  const gang = readGang(env);
  // A rank > 0 that is given a location anyway ignores it (run.ts logs so), but a bad one is
  // still a bad pod spec.
  const locationGiven = Boolean(env[ENV.checkpointDir] || env[ENV.checkpointUrl]);
  const checkpointLocation = gang.rank === 0 || locationGiven ? readLocation(env) : undefined;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const podName = env[ENV.podName];
  const podNamespace = env[ENV.podNamespace];
  return {
    checkpointLocation,
    gang,
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
