/**
 * How a trainer process ends. The operator decides what an attempt counts as from these
 * first, the summary second: a trainer that could not write its summary still exits right.
 */
export const EXIT_CODES = {
  completed: 0,
  /** Anything else went wrong: retried within spec.failurePolicy. */
  failed: 1,
  /**
   * Bad config or environment, or checkpoint storage that refuses the trainer (summary
   * failure.kind "storageRefused"): permanent, retrying cannot help.
   */
  config: 2,
  /** A newer attempt owns the checkpoint directory. */
  fenced: 3,
  /** Checkpoint storage I/O failed after retries (a credentials source timing out included): infrastructure, retried. */
  storage: 4,
  /** Checkpoints exist but none loads, and a fresh start is not allowed: permanent. */
  checkpointsUnusable: 5,
  /** The loss became NaN or infinite: a failure, nothing non-finite was committed. */
  diverged: 6,
  /**
   * A gang peer went away or stalled (its connection closed, or no message within the bound),
   * or the gang never formed: this rank stopped without a checkpoint of its own. Whether the
   * attempt was preempted or failed depends on what happened to that peer (the operator reads
   * every rank's pod), not on this rank.
   */
  peerLost: 7,
  /** SIGTERM/SIGINT, final checkpoint flushed. Never 0: Kubernetes would call the pod Succeeded. */
  preempted: 143,
} as const;

export type ExitReason = keyof typeof EXIT_CODES;

/** The reason an exit code stands for; undefined for a code the protocol does not define. */
export function exitReason(code: number | undefined): ExitReason | undefined {
  if (code === undefined) return undefined;
  return (Object.keys(EXIT_CODES) as ExitReason[]).find((reason) => EXIT_CODES[reason] === code);
}
