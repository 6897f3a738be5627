/** Names that identify the TrainingRun API and the objects the operator makes for it. */
export const API_GROUP = "resumable.dev";
export const API_VERSION = "v1alpha1";
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const KIND = "TrainingRun";
export const LIST_KIND = "TrainingRunList";
export const PLURAL = "trainingruns";
export const SINGULAR = "trainingrun";
export const SHORT_NAMES = ["tr"];

/** Label on every pod (and created PVC) of a run: its TrainingRun's name. */
export const RUN_LABEL = `${API_GROUP}/run`;
/** Label on every trainer pod: its 1-based attempt number. */
export const ATTEMPT_LABEL = `${API_GROUP}/attempt`;
/** A gang's pod's rank (spec.workers > 1): 0 to workers - 1. */
export const RANK_LABEL = `${API_GROUP}/rank`;

/** The trainer image a run uses when spec.image is not set; moves with the release version. */
export const DEFAULT_TRAINER_IMAGE = "resumable/trainer:0.1.0";
