import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { mnistExamples, type TrainingConfig } from "../config/schema.js";
import { Prng } from "./prng.js";

/** Examples as flat 28x28 grey images in [0, 1] with class labels 0..9. */
export interface Dataset {
  count: number;
  /** count * pixels floats, example-major. */
  images: Float32Array;
  labels: Int32Array;
}

export const imageSide = 28;
export const pixels = imageSide * imageSide;
export const classes = 10;

export async function loadDataset(config: TrainingConfig): Promise<Dataset> {
  return config.dataset === "mnist" ? loadMnist() : synthesize(config.syntheticExamples, config.seed);
}

/**
 * The real digits the `mnist` package ships (~10k). Read from its JSON files in a fixed order
 * (digit 0's samples, then 1's, ...) because the package's own set() shuffles with Math.random.
 */
async function loadMnist(): Promise<Dataset> {
  const root = dirname(createRequire(import.meta.url).resolve("mnist/package.json"));
  const perDigit = await Promise.all(
    Array.from({ length: classes }, async (_, digit) => {
      const { data } = JSON.parse(await readFile(join(root, "src", "digits", `${digit}.json`), "utf8")) as { data: number[] };
      return data;
    }),
  );
  const count = perDigit.reduce((n, d) => n + Math.floor(d.length / pixels), 0);
  // The config's batchSize check is made against this number before any data is read.
  if (count !== mnistExamples) throw new Error(`the mnist package has ${count} digits, the trainer expects ${mnistExamples}: update mnistExamples`);
  const images = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  let i = 0;
  perDigit.forEach((data, digit) => {
    const n = Math.floor(data.length / pixels);
    images.set(data.slice(0, n * pixels), i * pixels);
    labels.fill(digit, i, i + n);
    i += n;
  });
  return { count, images, labels };
}

/**
 * Learnable noise for tests and benchmarks: each class has a fixed random prototype image;
 * examples are their prototype plus noise. Generated from the seed, so runs are reproducible.
 */
function synthesize(count: number, seed: number): Dataset {
  const prng = Prng.fromSeed(seed ^ 0x5eed);
  const unit = () => prng.nextUint32() / 0x100000000;
  const prototypes = Float32Array.from({ length: classes * pixels }, unit);
  const images = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = prng.nextBelow(classes);
    labels[i] = label;
    for (let p = 0; p < pixels; p++) {
      images[i * pixels + p] = 0.7 * prototypes[label * pixels + p]! + 0.3 * unit();
    }
  }
  return { count, images, labels };
}
