/** Environment variables of the trainer protocol (docs/trainer-protocol.md, "Start"). */
export const ENV = {
  checkpointDir: "RESUMABLE_CHECKPOINT_DIR",
  config: "RESUMABLE_CONFIG",
  run: "RESUMABLE_RUN",
  /**
   * metadata.uid of the TrainingRun: with RESUMABLE_RUN and RESUMABLE_POD_NAMESPACE, the owner
   * recorded in the checkpoint location, so a re-created run of the same name is told apart.
   */
  runUid: "RESUMABLE_RUN_UID",
  attempt: "RESUMABLE_ATTEMPT",
  podName: "RESUMABLE_POD_NAME",
  podNamespace: "RESUMABLE_POD_NAMESPACE",
  podIp: "RESUMABLE_POD_IP",
  /** "true": start from step 0 when checkpoints exist but none loads (spec.checkpoint.allowFreshStart). */
  allowFreshStart: "RESUMABLE_ALLOW_FRESH_START",
  /**
   * s3://bucket/prefix: checkpoints go to an S3-compatible object store instead of the
   * directory (spec.checkpoint.storage.s3). With it, RESUMABLE_CHECKPOINT_DIR is not used.
   */
  checkpointUrl: "RESUMABLE_CHECKPOINT_URL",
  /** The object store's endpoint (https://storage.googleapis.com, http://minio:9000, ...); unset: AWS S3. */
  s3Endpoint: "RESUMABLE_S3_ENDPOINT",
  /** The bucket's region; unset: AWS_REGION, else us-east-1. */
  s3Region: "RESUMABLE_S3_REGION",
  /**
   * A mounted Secret with files AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and optional
   * AWS_SESSION_TOKEN). Unset: the AWS SDK's default chain (the AWS_* variables, web identity
   * token, pod identity, instance metadata): workload identity needs no secret.
   */
  s3CredentialsDir: "RESUMABLE_S3_CREDENTIALS_DIR",
  // Read by the reference trainer only; the operator leaves them to spec.env.
  terminationLog: "RESUMABLE_TERMINATION_LOG",
  metricsPort: "RESUMABLE_METRICS_PORT",
  progressSeconds: "RESUMABLE_PROGRESS_SECONDS",
  serviceAccountDir: "RESUMABLE_SERVICEACCOUNT_DIR",
  /**
   * Hard losses per hour of the capacity the attempt runs on, as the operator knows it (the
   * run's own preemptions per spot hour once it has some, else the operator's prior): what
   * `everySteps: "auto"` weighs a save's cost against. Unset: the trainer's own prior.
   */
  disruptionsPerHour: "RESUMABLE_DISRUPTIONS_PER_HOUR",
  /** The projected file holding the checkpoint request (default CHECKPOINT_REQUEST_FILE); empty: off. */
  checkpointRequestFile: "RESUMABLE_CHECKPOINT_REQUEST_FILE",
  /**
   * Baseline mode for comparisons (test/bench/goodput.ts), never set by the operator:
   * "flush" (default) stops at the next step boundary with a final checkpoint and exit 143;
   * "die" installs no SIGTERM handler, so the process dies at once (143) without a final
   * checkpoint, as a training script that only checkpoints every N steps does.
   */
  sigterm: "RESUMABLE_SIGTERM",
} as const;

/** The values of RESUMABLE_SIGTERM (ENV.sigterm). */
export const SIGTERM_MODES = ["flush", "die"] as const;
export type SigtermMode = (typeof SIGTERM_MODES)[number];

/** What the operator sets on every trainer pod, in this order. */
export const OPERATOR_ENV_NAMES = [
  ENV.checkpointDir,
  ENV.config,
  ENV.run,
  ENV.runUid,
  ENV.attempt,
  ENV.podName,
  ENV.podNamespace,
  ENV.podIp,
] as const;

/**
 * What the operator sets instead of RESUMABLE_CHECKPOINT_DIR when the run's checkpoints go to a
 * bucket (spec.checkpoint.storage.s3); spec.env may then set none of them.
 */
export const OPERATOR_S3_ENV_NAMES = [ENV.checkpointUrl, ENV.s3Endpoint, ENV.s3Region, ENV.s3CredentialsDir] as const;

/** The file names the trainer reads in RESUMABLE_S3_CREDENTIALS_DIR (the AWS variables' names). */
export const S3_CREDENTIAL_FILES = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY", sessionToken: "AWS_SESSION_TOKEN" } as const;
