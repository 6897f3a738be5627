import { CHECKPOINT_REQUEST_FILE, ENV, SIGTERM_MODES, type SigtermMode } from "@resumable/protocol";
import { ConfigError } from "./errors.js";

/** Everything the trainer reads from its environment (see docs/trainer-protocol.md). */
export interface TrainerEnv {
  /** The checkpoint directory; unused (and may be empty) when `checkpointBucket` is set. */
  checkpointDir: string;
  /** RESUMABLE_CHECKPOINT_URL: checkpoints in an S3-compatible bucket instead. */
  checkpointBucket: CheckpointBucket | undefined;
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
}

export interface CheckpointBucket {
  bucket: string;
  /** Without leading or trailing "/"; "" for the bucket's root. */
  prefix: string;
  endpoint: string | undefined;
  region: string | undefined;
  /** A mounted Secret's directory; undefined: the SDK's default credential chain. */
  credentialsDir: string | undefined;
}

/** s3://bucket/prefix, as S3 tools write it; the bucket name as S3 allows it (GCS's too). */
export function parseCheckpointUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError(`${ENV.checkpointUrl}=${JSON.stringify(url)}: expected s3://bucket/prefix (a bucket name of 3-63 lower-case letters, digits, ".", "-" or "_")`);
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix.split("/").some((part) => part === "." || part === "..")) throw new ConfigError(`${ENV.checkpointUrl}=${JSON.stringify(url)}: "." and ".." are not allowed in the prefix`);
  return { bucket: m[1]!, prefix };
}

function readBucket(env: NodeJS.ProcessEnv): CheckpointBucket | undefined {
  const url = env[ENV.checkpointUrl];
  if (url === undefined || url === "") return undefined;
  const endpoint = env[ENV.s3Endpoint] || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new ConfigError(`${ENV.s3Endpoint}=${JSON.stringify(endpoint)}: expected an http:// or https:// URL`);
  }
  return { ...parseCheckpointUrl(url), endpoint, region: env[ENV.s3Region] || undefined, credentialsDir: env[ENV.s3CredentialsDir] || undefined };
}

export function readEnv(env: NodeJS.ProcessEnv): TrainerEnv {
  const checkpointBucket = readBucket(env);
  const checkpointDir = env[ENV.checkpointDir] ?? "";
  if (!checkpointBucket && checkpointDir === "") {
    throw new ConfigError(`${ENV.checkpointDir} is required: the directory checkpoints are written to (or ${ENV.checkpointUrl}=s3://bucket/prefix for object storage)`);
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const podName = env[ENV.podName];
  const podNamespace = env[ENV.podNamespace];
  return {
    checkpointDir,
    checkpointBucket,
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
