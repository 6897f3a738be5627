import * as tf from "@tensorflow/tfjs";
import type { TrainingConfig } from "../config/schema.js";

export function buildOptimizer(config: TrainingConfig): tf.Optimizer {
  return config.optimizer === "adam" ? tf.train.adam(config.learningRate) : tf.train.sgd(config.learningRate);
}

/**
 * Adam keeps beta1^t and beta2^t in private variables. Its setWeights recomputes them with
 * pow(beta, iter + 1), which differs in the last bits from the repeated float32 products an
 * uninterrupted run accumulates, so bit-identical resume must save and restore them exactly.
 * tfjs exposes no API for that; this checks at run time that the fields still exist.
 */
export function adamPowers(optimizer: tf.Optimizer): { accBeta1: tf.Variable; accBeta2: tf.Variable } | undefined {
  // Not instanceof: tfjs optimizers define Symbol.hasInstance by duck typing (SGD passes).
  if (optimizer.getClassName() !== tf.AdamOptimizer.className) return undefined;
  const internals = optimizer as unknown as { accBeta1?: unknown; accBeta2?: unknown };
  if (!(internals.accBeta1 instanceof tf.Variable) || !(internals.accBeta2 instanceof tf.Variable)) {
    throw new Error("tfjs AdamOptimizer no longer has accBeta1/accBeta2: this tfjs version is not supported");
  }
  return { accBeta1: internals.accBeta1, accBeta2: internals.accBeta2 };
}
