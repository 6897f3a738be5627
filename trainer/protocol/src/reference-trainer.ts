import { z } from "zod";

/** Examples in the `mnist` package's digits (checked when they are loaded). */
export const mnistExamples = 10_000;

/**
 * Upper bounds on sizes: far above any sensible run on one node, low enough that a typo
 * (an extra zero or three) is a config error naming the field, not an out-of-memory crash.
 * hiddenUnits: 262144 is an 800 MB mlp (the benchmarks go to 512 MB).
 */
export const limits = {
  hiddenUnits: 262_144,
  syntheticExamples: 100_000,
  batchSize: 65_536,
  totalSteps: 1_000_000_000,
  epochs: 1_000_000,
  learningRate: 1_000,
  everySteps: 1_000_000_000,
  everySeconds: 7 * 24 * 3600,
  keep: 1_000,
  stepDelayMs: 600_000,
  gangTimeoutSeconds: 24 * 3600,
} as const;

/**
 * The reference trainer's (resumable-trainer's) training config: spec.training of a run on
 * its image. Here rather than in the trainer so the operator can refuse a bad config before
 * any pod exists, without loading TensorFlow.js. Strict objects: an unknown field is an
 * error, never silently ignored, so a typo like `learningrate` cannot train with the default.
 * Every combination that cannot train is refused here too (exit 2), naming the field.
 */
export const trainingConfigSchema = z
  .strictObject({
    model: z.enum(["mlp", "cnn"]).default("mlp"),
    /** mlp only: width of the hidden layer; sizes the model (benchmarks use it to reach 512 MB). */
    hiddenUnits: z.int().positive().max(limits.hiddenUnits).default(128),
    dropout: z.number().min(0).lt(1).default(0.2),
    dataset: z.enum(["mnist", "synthetic"]).default("mnist"),
    /** synthetic only: how many 28x28 examples to generate (10 classes, like MNIST). */
    syntheticExamples: z.int().positive().max(limits.syntheticExamples).default(2048),
    totalSteps: z.int().positive().max(limits.totalSteps).optional(),
    epochs: z.int().positive().max(limits.epochs).optional(),
    batchSize: z.int().positive().max(limits.batchSize).default(64),
    learningRate: z.number().positive().max(limits.learningRate).default(0.001),
    optimizer: z.enum(["adam", "sgd"]).default("adam"),
    seed: z.int().min(0).max(0xffffffff).default(42),
    backend: z.enum(["auto", "cpu", "wasm", "tensorflow"]).default("auto"),
    /**
     * For tests and demos: each step waits this long before computing, as a large model's
     * step would (no CPU spent). Not a shape field: it may change across a resume.
     */
    stepDelayMs: z.int().nonnegative().max(limits.stepDelayMs).default(0),
    checkpoint: z
      .strictObject({
        /**
         * 0 turns step-based periodic saves off. "auto": the trainer picks the interval from
         * what its saves cost and how often the capacity it runs on is lost (trainer/src/train/
         * save-interval.ts), within maxOverhead and the lost-work goal; everySeconds is then
         * not used.
         */
        everySteps: z.union([z.int().nonnegative().max(limits.everySteps), z.literal("auto")]).default(200),
        /** 0 turns time-based periodic saves off. */
        everySeconds: z.number().nonnegative().max(limits.everySeconds).default(300),
        /** "auto" only (default 0.02): the share of training time saves may hold the loop. */
        maxOverhead: z.number().positive().max(0.5).optional(),
        /** "auto" only (defaults 10 and 5): a hard loss may cost up to this many steps, or maxLostSeconds of training, whichever is more. */
        maxLostSteps: z.int().positive().max(limits.everySteps).optional(),
        maxLostSeconds: z.number().nonnegative().max(limits.everySeconds).optional(),
        keep: z.int().positive().max(limits.keep).default(3),
      })
      .prefault({}),
    /** The transport between a gang's ranks (spec.workers > 1); a world of one ignores it. */
    gang: z
      .strictObject({
        /** Waiting for the peers file and every connection; then the rank exits peerLost (7). */
        formationTimeoutSeconds: z.number().positive().max(limits.gangTimeoutSeconds).default(300),
        /** A peer that sends nothing this long while a message is awaited is lost: exit peerLost (7). */
        peerTimeoutSeconds: z.number().positive().max(limits.gangTimeoutSeconds).default(60),
        /**
         * How gradients are summed; both have a fixed reduction order (docs/trainer-protocol.md,
         * "Gangs"). Ring by default: measured faster than star at N = 2 and 4 (docs/benchmarks.md).
         */
        allReduce: z.enum(["ring", "star"]).default("ring"),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if ((c.totalSteps === undefined) === (c.epochs === undefined)) {
      ctx.addIssue({ code: "custom", path: ["totalSteps"], message: "set exactly one of totalSteps and epochs" });
    }
    const examples = c.dataset === "mnist" ? mnistExamples : c.syntheticExamples;
    if (c.batchSize > examples) {
      // Also what makes epochs give 0 steps (an untrained model that "succeeds").
      ctx.addIssue({ code: "custom", path: ["batchSize"], message: `${c.batchSize} is larger than the ${c.dataset} dataset (${examples} examples)` });
    }
    if (c.epochs !== undefined && c.epochs * Math.floor(examples / c.batchSize) > limits.totalSteps) {
      ctx.addIssue({ code: "custom", path: ["epochs"], message: `${c.epochs} epochs are more than ${limits.totalSteps} steps` });
    }
    if (c.checkpoint.everySteps !== "auto") {
      for (const field of ["maxOverhead", "maxLostSteps", "maxLostSeconds"] as const) {
        if (c.checkpoint[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: ["checkpoint", field], message: `applies only to everySteps: "auto" (everySteps is ${c.checkpoint.everySteps})` });
        }
      }
    }
    if (c.backend === "wasm" && c.model === "cnn") {
      ctx.addIssue({
        code: "custom",
        path: ["backend"],
        message: "wasm cannot train a cnn (tfjs-backend-wasm has no Conv2D backprop kernels): use cpu or tensorflow",
      });
    }
  });

export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/**
 * Each problem of a config that failed the schema, as `field: message` (an unknown field as
 * `field: unknown field`), fields prefixed with `prefix` (e.g. "spec.training"): the same
 * words whether the trainer or the operator refuses it.
 */
export function configProblems(issues: readonly z.core.$ZodIssue[], prefix = ""): string[] {
  const name = (path: readonly PropertyKey[]) => [...(prefix === "" ? [] : [prefix]), ...path.map(String)].join(".");
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => `${name([...issue.path, key])}: unknown field`);
    return [`${name(issue.path) || "(config)"}: ${issue.message}`];
  });
}
