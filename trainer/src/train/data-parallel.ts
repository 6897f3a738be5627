// One data-parallel step's arithmetic for a gang: which rows of the global batch a rank
// takes, and the one vector each rank contributes to the step's all-reduce (its scaled
// gradients, its share of the loss, and the two control values every rank must agree on).

/**
 * Rank `rank`'s contiguous rows of a global batch of `size`: [floor(r*size/N), floor((r+1)*size/N)).
 * Uneven splits are allowed (64 on 3 ranks: 21, 21, 22); every rank gets at least one row
 * because the run refuses a batch smaller than its gang (checkGangBatch).
 */
export function sliceOf(rank: number, worldSize: number, size: number): { start: number; end: number } {
  return { start: Math.floor((rank * size) / worldSize), end: Math.floor(((rank + 1) * size) / worldSize) };
}

/** A rank with no rows would contribute the mean of nothing (NaN): refused before the first step. */
export function gangBatchProblem(batchSize: number, worldSize: number): string | undefined {
  return batchSize < worldSize ? `batchSize ${batchSize} is smaller than the gang's ${worldSize} ranks: every rank needs at least one example per step` : undefined;
}

/** What a rank asks of the whole gang at this step boundary. */
export interface Control {
  /** A stop signal (SIGTERM) reached this rank: every rank stops after this step. */
  stop: boolean;
  /** A checkpoint is wanted (a reclaim notice here, or rank 0's schedule): every rank takes part in the save of this step. */
  checkpoint: boolean;
}

/** The appended values, after the gradients: [loss share, stop, checkpoint]. */
const tail = 3;

/**
 * Gradients scaled by the rank's share of the global batch (each was averaged over its slice:
 * the scaled sum is the global batch's average), then the scaled loss and the control values.
 * Math.fround at each product: the same bits on every rank for the same inputs.
 */
export function packContribution(grads: Float32Array[], loss: number, share: number, control: Control): Float32Array {
  const length = grads.reduce((n, g) => n + g.length, 0);
  const out = new Float32Array(length + tail);
  let at = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) out[at + i] = Math.fround(g[i]! * share);
    at += g.length;
  }
  out[at] = Math.fround(loss * share);
  out[at + 1] = control.stop ? 1 : 0;
  out[at + 2] = control.checkpoint ? 1 : 0;
  return out;
}

/** The all-reduced vector back into gradients of `sizes`, the global loss and the agreed control values. */
export function unpackSum(sum: Float32Array, sizes: number[]): { grads: Float32Array[]; loss: number; control: Control } {
  const length = sizes.reduce((n, s) => n + s, 0);
  if (sum.length !== length + tail) throw new Error(`all-reduce returned ${sum.length} values, expected ${length + tail}`);
  let at = 0;
  const grads = sizes.map((size) => {
    const g = sum.subarray(at, at + size);
    at += size;
    return g;
  });
  return { grads, loss: sum[at]!, control: { stop: sum[at + 1]! > 0, checkpoint: sum[at + 2]! > 0 } };
}
