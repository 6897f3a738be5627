import { createHash } from "node:crypto";
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
} as const;

/**
 * The training config. Strict objects: an unknown field is an error, never silently ignored,
 * so a typo like `learningrate` cannot quietly train with the default. Every combination that
 * cannot train is refused here too (exit 2), naming the field.
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
    checkpoint: z
      .strictObject({
        /** 0 turns step-based periodic saves off. */
        everySteps: z.int().nonnegative().max(limits.everySteps).default(200),
        /** 0 turns time-based periodic saves off. */
        everySeconds: z.number().nonnegative().max(limits.everySeconds).default(300),
        keep: z.int().positive().max(limits.keep).default(3),
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
 * Fields that change tensor shapes or the training data. A checkpoint written under other
 * values cannot be loaded: resuming would fail or silently train something else.
 */
export const shapeFields = ["model", "hiddenUnits", "dataset", "syntheticExamples", "optimizer"] as const;

/** JSON with sorted keys, so equal configs hash equally whatever order the file used. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function configHash(config: TrainingConfig): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
