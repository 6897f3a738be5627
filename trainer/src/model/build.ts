import * as tf from "@tensorflow/tfjs";
import type { TrainingConfig } from "../config/schema.js";
import { classes, imageSide, pixels } from "../data/dataset.js";
import { deriveSeed } from "../data/prng.js";

/**
 * Every layer is named explicitly: tfjs numbers unnamed layers per process (dense_Dense1,
 * dense_Dense3, ...), and restored weights must land on the same variables in a new process.
 * Initializers are seeded: unseeded ones draw from Math.random.
 */
export function buildModel(config: TrainingConfig): tf.Sequential {
  const init = (layer: number) => tf.initializers.glorotUniform({ seed: deriveSeed(config.seed, 0x1a1e, layer) });
  const model = tf.sequential({ name: config.model });
  if (config.model === "mlp") {
    model.add(tf.layers.dense({ name: "hidden", inputShape: [pixels], units: config.hiddenUnits, activation: "relu", kernelInitializer: init(0) }));
    model.add(tf.layers.dropout({ name: "dropout", rate: config.dropout }));
    model.add(tf.layers.dense({ name: "logits", units: classes, kernelInitializer: init(1) }));
  } else {
    model.add(tf.layers.reshape({ name: "image", inputShape: [pixels], targetShape: [imageSide, imageSide, 1] }));
    model.add(tf.layers.conv2d({ name: "conv1", filters: 8, kernelSize: 3, activation: "relu", kernelInitializer: init(0) }));
    model.add(tf.layers.maxPooling2d({ name: "pool1", poolSize: 2 }));
    model.add(tf.layers.conv2d({ name: "conv2", filters: 16, kernelSize: 3, activation: "relu", kernelInitializer: init(1) }));
    model.add(tf.layers.maxPooling2d({ name: "pool2", poolSize: 2 }));
    model.add(tf.layers.flatten({ name: "flatten" }));
    model.add(tf.layers.dropout({ name: "dropout", rate: config.dropout }));
    model.add(tf.layers.dense({ name: "logits", units: classes, kernelInitializer: init(2) }));
  }
  return model;
}

/**
 * The forward pass used for training. Dropout layers are applied here with a seed derived from
 * (seed, step, layer) instead of through the layer: a Dropout layer built with a seed repeats
 * the same mask every step, and one without draws from Math.random. The exported model keeps
 * its ordinary Dropout layers (identity at inference).
 */
export function trainingForward(model: tf.Sequential, x: tf.Tensor, seed: number, step: number, rows?: BatchRows): tf.Tensor {
  let h = x;
  model.layers.forEach((layer, index) => {
    if (layer.getClassName() === "Dropout") {
      const rate = (layer.getConfig() as { rate: number }).rate;
      if (rate > 0) h = rows ? slicedDropout(h, rate, dropoutSeed(seed, step, index), rows) : tf.dropout(h, rate, undefined, dropoutSeed(seed, step, index));
    } else {
      h = layer.apply(h, { training: true }) as tf.Tensor;
    }
  });
  return h;
}

/** A gang rank's rows of the global batch: [start, start + its slice) of `total`. */
export interface BatchRows {
  start: number;
  total: number;
}

/**
 * tf.dropout's mask drawn for the whole global batch, and this rank's rows of it: an example
 * gets the same mask whichever rank computes it and however the batch is split (a mask drawn
 * for the slice alone would depend on the split). tf.dropout's own arithmetic, so a row's
 * multiplier is the one a single pod draws for that row.
 */
function slicedDropout(h: tf.Tensor, rate: number, seed: number, rows: BatchRows): tf.Tensor {
  const keep = 1 - rate;
  const noise = tf.randomUniform([rows.total, ...h.shape.slice(1)], 0, 1, "float32", seed);
  const multiplier = tf.div(tf.floor(tf.add(noise, keep)), keep);
  return tf.mul(h, multiplier.slice(rows.start, h.shape[0]));
}

/** Documented in the manifest as `dropoutSeeds` so a reader knows how masks were drawn. */
export const dropoutSeedDerivation = "deriveSeed(seed, step, layerIndex): FNV offset folded through murmur3 fmix32";

export function dropoutSeed(seed: number, step: number, layerIndex: number): number {
  return deriveSeed(seed, step, layerIndex);
}
