// What the ranks of a gang exchange while they train: the contract between the data-parallel
// training loop (train/) and the transport that carries it (gang/ring.ts over TCP between the
// pods; one rank alone needs no transport). Every call is collective: each rank makes the same
// calls in the same order, or the gang ends in PeerLostError within the configured bound.

export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  /**
   * The elementwise sum of `data` over all ranks. The reduction order is fixed by rank and
   * chunk, not by arrival: every rank gets the same bits, and a rerun the same bits again.
   * `data` is not modified.
   */
  allReduceSum(data: Float32Array): Promise<Float32Array>;
  /** Rank `root`'s bytes, on every rank (`data` is read on the root only). */
  broadcast(data: Uint8Array | undefined, root?: number): Promise<Uint8Array>;
  /** On the root: every rank's bytes, by rank. Elsewhere: undefined. */
  gather(data: Uint8Array, root?: number): Promise<Uint8Array[] | undefined>;
  /** Closes the connections; pending and later calls reject with PeerLostError. */
  close(): Promise<void>;
}

/**
 * A peer went away (connection closed or reset), stalled (no message within the bound), or
 * never showed up: this rank cannot go on. The trainer exits peerLost (7) without a
 * checkpoint; the gang resumes from its newest committed one.
 */
export class PeerLostError extends Error {
  constructor(
    /** The rank that was lost, when known. */
    readonly peer: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "PeerLostError";
  }
}
