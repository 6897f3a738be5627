/** What `resumable-trainer --help` prints: the CLI, the environment it reads and its exit codes (docs/trainer-protocol.md). */
export const USAGE = `Usage: resumable-trainer [--config FILE] [--resume-from DIR]

Trains the configured model, checkpointing to $RESUMABLE_CHECKPOINT_DIR, and resumes
from the newest checkpoint that loads. The operator sets the environment; by hand,
RESUMABLE_CHECKPOINT_DIR and a config (--config FILE or RESUMABLE_CONFIG) are enough.

Options:
  --config FILE        training config (YAML or JSON)
  --resume-from DIR    checkpoint directory to resume from instead of the newest one
  --help, -h           print this and exit

Environment:
  RESUMABLE_CHECKPOINT_DIR    checkpoint directory (required; the image sets /checkpoints)
  RESUMABLE_CONFIG            inline config, instead of --config
  RESUMABLE_RUN, RESUMABLE_RUN_UID, RESUMABLE_ATTEMPT, RESUMABLE_POD_NAME, RESUMABLE_POD_NAMESPACE
                              set by the operator: the run (the owner of the checkpoint
                              location), fencing and progress reports
  RESUMABLE_TERMINATION_LOG   where the summary is written (default /dev/termination-log)
  RESUMABLE_METRICS_PORT      metrics port (default 9090; 0 turns metrics off)
  RESUMABLE_PROGRESS_SECONDS  seconds between progress reports (default 5)
  RESUMABLE_SIGTERM           flush (default): final checkpoint on SIGTERM, exit 143; die: no
                              handler, killed at once (a benchmark baseline, not for real runs)

Exit codes: 0 completed, 1 failed, 2 bad config (or another run's checkpoint location),
3 fenced, 143 preempted (SIGTERM).`;
