/** Operator-wide knobs the reconcile function needs (flags/env in the CLI). */
export interface OperatorSettings {
  /** ServiceAccount for trainer pods; it needs `patch` on its own pod for progress reports. Unset: the namespace default. */
  trainerServiceAccountName?: string;
  /** How long a pod may sit Running/Terminating on a NotReady or deleted node before it is force-deleted. */
  stuckPodTimeoutSeconds: number;
  /** How many attempts status.attempts keeps; at least 2, as lostSteps compares an attempt with the one before. */
  attemptHistoryLimit: number;
  /**
   * How long a trainer may run without a progress report before ProgressReported=False says
   * so. Several report intervals (the trainer's default is 5 s), plus the time to load data.
   */
  progressReportTimeoutSeconds: number;
  /** Prefixes spec.image must start with (e.g. "registry.example.com/ml/"); empty: any image. */
  allowedImages: readonly string[];
}

export const DEFAULT_SETTINGS: OperatorSettings = {
  stuckPodTimeoutSeconds: 30,
  attemptHistoryLimit: 10,
  progressReportTimeoutSeconds: 120,
  allowedImages: [],
};
