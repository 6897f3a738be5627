/**
 * @resumable/protocol: what the operator and a trainer promise each other
 * (docs/trainer-protocol.md), in code both import. zod is its only dependency, so the
 * operator image carries no TensorFlow.js and the trainer image no client-node.
 */
export { PROGRESS_ANNOTATION } from "./keys.js";
export { EXIT_CODES, exitReason, type ExitReason } from "./exit-codes.js";
export { ENV, OPERATOR_ENV_NAMES, OPERATOR_S3_ENV_NAMES, S3_CREDENTIAL_FILES, SIGTERM_MODES, type SigtermMode } from "./env.js";
export {
  CHECKPOINT_REASONS,
  FAILURE_KINDS,
  MAX_MESSAGE_CHARS,
  SUMMARY_REASONS,
  checkpointFailureSchema,
  checkpointIntervalSchema,
  checkpointReportSchema,
  exitSummarySchema,
  failureMessage,
  failureSchema,
  parseExitSummary,
  parseProgress,
  progressSchema,
  summaryRecordSchema,
  resumedFrom,
  type CheckpointFailure,
  type CheckpointInterval,
  type CheckpointReport,
  type ExitSummary,
  type Failure,
  type FailureKind,
  type ParsedExitSummary,
  type ParsedProgress,
  type ProgressReport,
} from "./reports.js";
export {
  CHECKPOINT_REQUEST_ANNOTATION,
  CHECKPOINT_REQUEST_DIR,
  CHECKPOINT_REQUEST_FILE,
  checkpointRequestSchema,
  earlyCheckpointSchema,
  parseCheckpointRequest,
  type CheckpointRequest,
  type EarlyCheckpoint,
} from "./checkpoint-request.js";
export {
  BUCKET_NAME,
  CheckpointLocation,
  CheckpointLocationError,
  ENDPOINT,
  OBJECT_PREFIX,
  bucketNameProblem,
  bucketUrl,
  endpointProblem,
  locationName,
  prefixProblem,
  type BucketLocation,
  type VolumeLocation,
} from "./checkpoint-location.js";
export { GANG_ENV, GANG_ENV_NAMES, GANG_PORT, PEERS_ANNOTATION, PEERS_FILE, encodePeers, parsePeers, peersSchema, type Peers } from "./gang.js";
export { lostSteps, lostStepsOf, type AttemptSteps, type LostSteps } from "./lost-steps.js";
export { disruptionOf, type Disruption, type PlannedStop, type PodFacts, type TrainerExit } from "./disruption.js";
