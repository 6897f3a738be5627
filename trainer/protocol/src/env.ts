/** Environment variables of the trainer protocol (docs/trainer-protocol.md, "Start"). */
export const ENV = {
  checkpointDir: "RESUMABLE_CHECKPOINT_DIR",
  config: "RESUMABLE_CONFIG",
  run: "RESUMABLE_RUN",
  attempt: "RESUMABLE_ATTEMPT",
  podName: "RESUMABLE_POD_NAME",
  podNamespace: "RESUMABLE_POD_NAMESPACE",
  podIp: "RESUMABLE_POD_IP",
  /** "true": start from step 0 when checkpoints exist but none loads (spec.checkpoint.allowFreshStart). */
  allowFreshStart: "RESUMABLE_ALLOW_FRESH_START",
  // Read by the reference trainer only; the operator leaves them to spec.env.
  terminationLog: "RESUMABLE_TERMINATION_LOG",
  metricsPort: "RESUMABLE_METRICS_PORT",
  progressSeconds: "RESUMABLE_PROGRESS_SECONDS",
  serviceAccountDir: "RESUMABLE_SERVICEACCOUNT_DIR",
  /** The projected file holding the checkpoint request (default CHECKPOINT_REQUEST_FILE); empty: off. */
  checkpointRequestFile: "RESUMABLE_CHECKPOINT_REQUEST_FILE",
} as const;

/** What the operator sets on every trainer pod, in this order. */
export const OPERATOR_ENV_NAMES = [
  ENV.checkpointDir,
  ENV.config,
  ENV.run,
  ENV.attempt,
  ENV.podName,
  ENV.podNamespace,
  ENV.podIp,
] as const;
