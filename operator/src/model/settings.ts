// The operator-wide knobs the pass is given (flags and environment in the CLI, config.ts),
// and their defaults.
import type { PriceTable } from "./accounting.js";
import { DEFAULT_NOTICE_SIGNALS, type NoticeSignal } from "./notice.js";

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
  /**
   * While only a run's progress changes (step, loss, the attempt's reached step), its status
   * is written at most once per this many seconds, with the newest report (progress-writes.ts);
   * any other change is written at once. 0: every report is written.
   */
  progressWriteIntervalSeconds: number;
  /**
   * Registries, repository prefixes or pinned images spec.image must fall under (api/image.ts:
   * whole path segments, e.g. "registry.example.com/ml"); empty: any image.
   */
  allowedImages: readonly string[];
  /**
   * true: spec.securityContext may go below the restricted Pod Security Standard (uid 0,
   * capabilities, privilege escalation, Unconfined seccomp); false: such a run is
   * Valid=False SecurityContextNotAllowed, so creating TrainingRuns never gives more than
   * creating restricted pods would.
   */
  allowRelaxedSecurityContext: boolean;
  /** The price table of cost accounting (status.accounting); unset: GPU-seconds only, no cost. */
  prices?: PriceTable;
  /** What counts as a reclaim notice on a trainer's node (notice.ts, docs/reclaim-notices.md). */
  noticeSignals: readonly NoticeSignal[];
  /**
   * How long an attempt that returned to spot may wait for a spot node when the run's
   * fallback.afterPendingSeconds is unset: the run left a healthy on-demand pod for it, so it
   * must not wait forever. Five minutes by default lets a node autoscaler bring up a spot node
   * (typically one to three); a platform whose autoscaler is slower or faster sets its own.
   */
  returnToSpotPendingSeconds: number;
  /**
   * Hard losses per spot hour assumed for a run with no spot hours of its own yet, told to
   * trainers that checkpoint as often as it pays (`checkpoint.everySteps: auto`); the run's own
   * rate takes over as it accrues (accounting.ts, expectedDisruptionsPerHour).
   */
  spotDisruptionsPerHour: number;
}

export const DEFAULT_SETTINGS: OperatorSettings = {
  stuckPodTimeoutSeconds: 30,
  attemptHistoryLimit: 10,
  progressReportTimeoutSeconds: 120,
  // Three reports of the reference trainer (every 5 s) per write; kubectl and a 30 s scrape
  // still see a step at most 15 s old.
  progressWriteIntervalSeconds: 15,
  allowedImages: [],
  allowRelaxedSecurityContext: false,
  noticeSignals: DEFAULT_NOTICE_SIGNALS,
  returnToSpotPendingSeconds: 300,
  // One an hour: spot pools reclaim between a few times a day and several times an hour.
  spotDisruptionsPerHour: 1,
};
