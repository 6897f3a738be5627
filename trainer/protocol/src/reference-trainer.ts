import { z } from "zod";

/**
 * The reference trainer's (resumable-trainer's) training config: spec.training of a run on
 * its image. Here rather than in the trainer so the operator can refuse a bad config before
 * any pod exists, without loading TensorFlow.js. Strict objects: an unknown field is an
 * error, never silently ignored, so a typo like `learningrate` cannot train with the default.
 */
export const trainingConfigSchema = z
  .strictObject({
    model: z.enum(["mlp", "cnn"]).default("mlp"),
    /** mlp only: width of the hidden layer; sizes the model (benchmarks use it to reach 512 MB). */
    hiddenUnits: z.int().positive().default(128),
    dropout: z.number().min(0).lt(1).default(0.2),
    dataset: z.enum(["mnist", "synthetic"]).default("mnist"),
    /** synthetic only: how many 28x28 examples to generate (10 classes, like MNIST). */
    syntheticExamples: z.int().positive().default(2048),
    totalSteps: z.int().positive().optional(),
    epochs: z.int().positive().optional(),
    batchSize: z.int().positive().default(64),
    learningRate: z.number().positive().default(0.001),
    optimizer: z.enum(["adam", "sgd"]).default("adam"),
    seed: z.int().min(0).max(0xffffffff).default(42),
    backend: z.enum(["auto", "cpu", "wasm", "tensorflow"]).default("auto"),
    checkpoint: z
      .strictObject({
        /** 0 turns step-based periodic saves off. */
        everySteps: z.int().nonnegative().default(200),
        /** 0 turns time-based periodic saves off. */
        everySeconds: z.number().nonnegative().default(300),
        keep: z.int().positive().default(3),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if ((c.totalSteps === undefined) === (c.epochs === undefined)) {
      ctx.addIssue({ code: "custom", path: ["totalSteps"], message: "set exactly one of totalSteps and epochs" });
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
