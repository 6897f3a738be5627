import * as tf from "@tensorflow/tfjs";
import { lossHistoryLength } from "../checkpoint/manifest.js";
import type { TrainingSnapshot } from "../checkpoint/snapshot.js";
import type { LoadedCheckpoint } from "../checkpoint/verify.js";
import { configHash, type TrainingConfig } from "../config/schema.js";
import { classes, pixels, type Dataset } from "../data/dataset.js";
import { DataOrder } from "../data/order.js";
import { buildModel, dropoutSeedDerivation, trainingForward } from "../model/build.js";
import { buildOptimizer } from "../model/optimizer.js";
import { allFinite, captureOptimizer, captureWeights, restoreOptimizer, restoreWeights } from "../model/state.js";
import type { Collective } from "../gang/collective.js";
import { DivergedError } from "./errors.js";
import { packContribution, sliceOf, unpackSum, type Control } from "./data-parallel.js";

/**
 * The model, optimizer and data order of one run, stepped one batch at a time by our own loop
 * (not model.fit, which shuffles with Math.random and cannot be checkpointed mid-epoch).
 */
/** Examples per forward pass when measuring accuracy. */
const evalBatch = 256;

export class TrainingSession {
  readonly model: tf.Sequential;
  readonly optimizer: tf.Optimizer;
  private order: DataOrder;
  private trainable: tf.Variable[];
  step = 0;
  lossHistory: [number, number | null][] = [];

  constructor(
    readonly config: TrainingConfig,
    private readonly data: Dataset,
    readonly backend: string,
  ) {
    this.model = buildModel(config);
    this.optimizer = buildOptimizer(config);
    this.order = DataOrder.fresh(data.count, config.seed);
    this.trainable = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  get epoch(): number {
    return this.order.current.epoch;
  }

  get lastLoss(): number | null {
    return this.lossHistory.at(-1)?.[1] ?? null;
  }

  /** Once, before the first step: weights, optimizer state, data position, step, loss history. */
  async restore(ckpt: LoadedCheckpoint): Promise<void> {
    const m = ckpt.manifest;
    restoreWeights(this.model, ckpt.weights);
    await restoreOptimizer(this.model, this.optimizer, m.optimizer.iterations, ckpt.optimizerTensors);
    this.order = new DataOrder(this.data.count, { epoch: m.epoch, positionInEpoch: m.positionInEpoch, epochPrngState: m.prngState });
    this.step = m.step;
    this.lossHistory = m.lossHistory;
  }

  /** Frees the model's and optimizer's tensors (a candidate checkpoint the model rejected). */
  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }

  /** One optimizer step on the next batch; returns its loss. */
  trainStep(): number {
    const indices = this.order.nextBatch(this.config.batchSize);
    const lossTensor = tf.tidy(() => {
      const { x, y } = this.batch(indices);
      const step = this.step;
      return this.optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, trainingForward(this.model, x, this.config.seed, step)) as tf.Scalar,
        true,
        this.trainable,
      )!;
    });
    const loss = lossTensor.dataSync()[0]!;
    lossTensor.dispose();
    return this.stepDone(loss);
  }

  /**
   * One data-parallel step of a gang: this rank's rows of the global batch (the batch a single
   * pod would take), its gradients scaled by its share, summed over the gang with the global
   * loss and the control values, and the summed gradients applied. Every rank applies the same
   * sum, so every rank holds the same weights. A gang of N is bit-identical to another gang of N
   * (same slices, same fixed reduction order) but not to one pod or a gang of another size:
   * float32 sums taken in another grouping round differently in the last bits.
   */
  async gangStep(collective: Collective, wanted: Control): Promise<{ loss: number; control: Control }> {
    const indices = this.order.nextBatch(this.config.batchSize);
    const { start, end } = sliceOf(collective.rank, collective.worldSize, indices.length);
    const step = this.step;
    const contribution = tf.tidy(() => {
      const { x, y } = this.batch(indices.subarray(start, end));
      const rows = { start, total: indices.length };
      const forward = () => tf.losses.softmaxCrossEntropy(y, trainingForward(this.model, x, this.config.seed, step, rows)) as tf.Scalar;
      const { value, grads } = this.optimizer.computeGradients(forward, this.trainable);
      const host = this.trainable.map((v) => grads[v.name]!.dataSync() as Float32Array);
      return packContribution(host, value.dataSync()[0]!, (end - start) / indices.length, wanted);
    });
    const sum = await collective.allReduceSum(contribution);
    const { grads, loss, control } = unpackSum(
      sum,
      this.trainable.map((v) => v.size),
    );
    tf.tidy(() => this.optimizer.applyGradients(Object.fromEntries(this.trainable.map((v, i) => [v.name, tf.tensor(grads[i]!, v.shape, "float32")]))));
    return { loss: this.stepDone(loss), control };
  }

  private stepDone(loss: number): number {
    this.step += 1;
    this.lossHistory.push([this.step, Number.isFinite(loss) ? loss : null]);
    if (this.lossHistory.length > lossHistoryLength) this.lossHistory.shift();
    return loss;
  }

  /**
   * Everything a checkpoint holds, in host memory, at a step boundary. A periodic snapshot is a
   * copy, since training goes on; a final one is not (training has stopped).
   */
  async snapshot(kind: "periodic" | "final"): Promise<TrainingSnapshot> {
    const position = this.order.current;
    const copy = kind === "periodic";
    const optimizer = await captureOptimizer(this.model, this.optimizer, copy);
    const weights = captureWeights(this.model, copy);
    // Once per checkpoint, not per step: no checkpoint with non-finite state is ever committed.
    for (const t of [...weights, ...optimizer.tensors]) {
      if (!allFinite(t.data)) throw new DivergedError(`${t.name} holds NaN or infinite values at step ${this.step}: training diverged; not saved`);
    }
    return {
      weights,
      optimizerTensors: optimizer.tensors,
      meta: {
        step: this.step,
        epoch: position.epoch,
        positionInEpoch: position.positionInEpoch,
        prngState: position.epochPrngState,
        dropoutSeeds: dropoutSeedDerivation,
        lossHistory: this.lossHistory.map(([s, l]) => [s, l]),
        config: this.config,
        configHash: configHash(this.config),
        optimizer: { name: this.config.optimizer, iterations: optimizer.iterations },
        backend: this.backend,
        kind,
      },
    };
  }

  /**
   * The share of up to `limit` examples, evenly spaced through the dataset, that the model
   * (in inference mode: no dropout) classifies right. They are training examples: the
   * `mnist` package ships one set of digits, and training uses all of it.
   */
  accuracy(limit = 2048): number {
    const stride = Math.max(1, Math.floor(this.data.count / limit));
    const indices = Uint32Array.from({ length: Math.min(limit, Math.ceil(this.data.count / stride)) }, (_, i) => i * stride);
    let correct = 0;
    for (let start = 0; start < indices.length; start += evalBatch) {
      const chunk = indices.subarray(start, start + evalBatch);
      const predicted = tf.tidy(() => (this.model.predict(this.batch(chunk).x) as tf.Tensor).argMax(-1).dataSync());
      chunk.forEach((example, row) => {
        if (predicted[row] === this.data.labels[example]) correct += 1;
      });
    }
    return correct / indices.length;
  }

  private batch(indices: Uint32Array): { x: tf.Tensor2D; y: tf.Tensor2D } {
    const images = new Float32Array(indices.length * pixels);
    const labels = new Int32Array(indices.length);
    indices.forEach((example, row) => {
      images.set(this.data.images.subarray(example * pixels, (example + 1) * pixels), row * pixels);
      labels[row] = this.data.labels[example]!;
    });
    return { x: tf.tensor2d(images, [indices.length, pixels]), y: tf.oneHot(tf.tensor1d(labels, "int32"), classes) as tf.Tensor2D };
  }
}
