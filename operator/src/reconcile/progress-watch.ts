import type { V1Pod } from "@kubernetes/client-node";
import { PROGRESS_ANNOTATION } from "@resumable/protocol";
import type { AttemptRecord } from "../api/status.js";
import type { Draft } from "./draft.js";
import { toDate } from "./time.js";
import { trainerStatus } from "./trainer-reports.js";

export const PROGRESS_REPORTED = "ProgressReported";

/**
 * Whether the running trainer of the newest attempt reports progress. A trainer whose
 * ServiceAccount may not patch its own pod (no Role, a refusing admission policy, no token)
 * trains on silently, and `kubectl get tr` shows no step until the end: after
 * settings.progressReportTimeoutSeconds of running without a report, say so and name what
 * to check. Time comes from the pass's `now`, so this stays pure.
 */
export function watchProgressReports(d: Draft, record: AttemptRecord, pod: V1Pod, reported: boolean): void {
  if (record.attempt !== d.status.attempt) return;
  if (reported) {
    d.condition({ type: PROGRESS_REPORTED, status: "True", reason: "ProgressReported", message: `attempt ${record.attempt} reports its progress` });
    return;
  }
  const running = trainerStatus(pod)?.state?.running;
  if (pod.status?.phase !== "Running" || running === undefined) return;
  const since = toDate(running.startedAt) ?? toDate(record.startTime);
  if (since === undefined) return;
  const timeoutMs = d.settings.progressReportTimeoutSeconds * 1000;
  const dueAt = since.getTime() + timeoutMs;
  if (d.now.getTime() < dueAt) {
    d.requeueIn(dueAt - d.now.getTime());
    return;
  }
  const account = pod.spec?.serviceAccountName ?? d.settings.trainerServiceAccountName ?? "default";
  const message =
    `attempt ${record.attempt}'s trainer (pod ${pod.metadata?.name}) has run ${d.settings.progressReportTimeoutSeconds}s ` +
    `without a ${PROGRESS_ANNOTATION} report: check that ServiceAccount ${account} may patch its own pod ` +
    `(the chart's trainer Role and ValidatingAdmissionPolicy resumable-trainer-progress) and that its token is mounted`;
  if (d.condition({ type: PROGRESS_REPORTED, status: "False", reason: "NoProgressReports", message })) {
    d.event("Warning", "NoProgressReports", message);
  }
}
