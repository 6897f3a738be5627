import { endianness } from "node:os";
import type { Socket } from "node:net";
import { PeerLostError } from "./collective.js";

// One TCP connection between two ranks, carrying length-prefixed binary frames:
//   u32 payload length | u32 call number | u8 kind | 3 bytes zero | payload
// all little-endian. The 12-byte header keeps a payload that starts a socket read 4-aligned,
// so a Float32Array can view it without a copy. Float32 payloads are the host's typed-array
// bytes sent as they are: little-endian, the only byte order this transport runs on.

export const HEADER_BYTES = 12;
/** A bound far above any gradient or checkpoint part: a longer length is a corrupt stream. */
export const MAX_PAYLOAD = 2 ** 31 - 1;

export const FRAME = { hello: 1, welcome: 2, refuse: 3, data: 4 } as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export interface Frame {
  kind: number;
  call: number;
  payload: Buffer;
}

if (endianness() !== "LE") throw new Error("the gang transport sends Float32Array bytes as they are: it runs on little-endian hosts only");

/** Where a link's peer is, for messages: "rank 2 (10.0.0.7:29500)". */
export interface PeerName {
  rank: number | undefined;
  label: string;
}

interface Waiter {
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Link {
  private readonly frames: Frame[] = [];
  private waiter: Waiter | undefined;
  private lost: PeerLostError | undefined;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private body: { frame: Frame; fill: number } | undefined;

  constructor(
    readonly socket: Socket,
    /** Renamed once an accepted connection's handshake says which rank it is. */
    public peer: PeerName,
    /** How long a receive or a send may wait for this peer before it counts as lost. */
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.destroy(this.lostError(`connection failed: ${err.message}`)));
    socket.on("close", () => this.destroy(this.lostError("closed the connection")));
  }

  lostError(what: string): PeerLostError {
    return new PeerLostError(this.peer.rank, `${this.peer.label} ${what}`);
  }

  /** The next frame from the peer. Data arriving counts as life: the bound restarts with it. */
  receive(timeoutMs = this.timeoutMs): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.lost) return Promise.reject(this.lost);
    if (this.waiter) return Promise.reject(new Error(`${this.peer.label}: two receives at once (a bug in the collective)`));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject, timer: this.stallTimer(timeoutMs) };
    });
  }

  /** Resolves once the kernel has the bytes: only then may the caller reuse `payload`'s memory. */
  send(kind: FrameKind, call: number, payload: Uint8Array): Promise<void> {
    if (this.lost) return Promise.reject(this.lost);
    if (payload.byteLength > MAX_PAYLOAD) return Promise.reject(new Error(`a gang message of ${payload.byteLength} bytes is over the ${MAX_PAYLOAD}-byte bound`));
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32LE(payload.byteLength, 0);
    header.writeUInt32LE(call >>> 0, 4);
    header.writeUInt32LE(kind, 8);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = this.lostError(`took no data for ${this.timeoutMs / 1000} s`);
        this.destroy(err);
        reject(err);
      }, this.timeoutMs);
      // Corked so header and payload go out in one writev; the callback waits out back-pressure.
      this.socket.cork();
      this.socket.write(header);
      this.socket.write(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), (err) => {
        clearTimeout(timer);
        if (err) reject(this.lost ?? this.lostError(`connection failed: ${err.message}`));
        else resolve();
      });
      this.socket.uncork();
    });
  }

  /** Ends the link: a pending receive rejects with `reason`, later calls too. Idempotent. */
  destroy(reason: PeerLostError): void {
    this.lost ??= reason;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.reject(this.lost);
    }
    this.socket.destroy();
  }

  /** A clean end: our FIN after what was written, the peer's within `graceMs`, else destroyed. */
  async close(graceMs: number): Promise<void> {
    if (this.socket.destroyed) return this.destroy(this.lostError("was closed by this rank"));
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    this.socket.end();
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.destroy(this.lostError("was closed by this rank"));
  }

  private stallTimer(timeoutMs: number): NodeJS.Timeout {
    return setTimeout(() => this.destroy(this.lostError(`sent nothing for ${timeoutMs / 1000} s while a message was awaited`)), timeoutMs);
  }

  private onData(chunk: Buffer): void {
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.timer = this.stallTimer(this.timeoutMs);
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.body) {
        const { frame } = this.body;
        const n = Math.min(frame.payload.length - this.body.fill, chunk.length - at);
        chunk.copy(frame.payload, this.body.fill, at, at + n);
        this.body.fill += n;
        at += n;
        if (this.body.fill === frame.payload.length) {
          this.body = undefined;
          this.deliver(frame);
        }
        continue;
      }
      let header: Buffer;
      if (this.headerFill === 0 && chunk.length - at >= HEADER_BYTES) {
        header = chunk.subarray(at, at + HEADER_BYTES);
        at += HEADER_BYTES;
      } else {
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        header = this.header;
      }
      const length = header.readUInt32LE(0);
      const frame: Frame = { kind: header.readUInt32LE(8), call: header.readUInt32LE(4), payload: Buffer.alloc(0) };
      if (length > MAX_PAYLOAD || frame.kind < FRAME.hello || frame.kind > FRAME.data) {
        return this.destroy(this.lostError(`sent a corrupt frame (kind ${frame.kind}, ${length} bytes)`));
      }
      if (chunk.length - at >= length) {
        // The whole payload is in this read: a view, no copy.
        frame.payload = chunk.subarray(at, at + length);
        at += length;
        this.deliver(frame);
      } else {
        frame.payload = Buffer.allocUnsafe(length);
        this.body = { frame, fill: 0 };
      }
    }
  }

  private deliver(frame: Frame): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.frames.push(frame);
      return;
    }
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(frame);
  }
}

/** A payload as float32s: a view when it is 4-aligned (the usual case), else one copy. */
export function asFloat32(payload: Buffer): Float32Array {
  if (payload.byteLength % 4 !== 0) throw new Error(`a float32 payload of ${payload.byteLength} bytes is not a whole number of floats`);
  if (payload.byteOffset % 4 === 0) return new Float32Array(payload.buffer, payload.byteOffset, payload.byteLength / 4);
  const copy = new Float32Array(payload.byteLength / 4);
  new Uint8Array(copy.buffer).set(payload);
  return copy;
}
