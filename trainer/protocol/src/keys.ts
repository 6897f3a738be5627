/** The annotation the trainer merge-patches on its own pod with its progress (progress.ts). */
export const PROGRESS_ANNOTATION = "resumable.dev/progress";
