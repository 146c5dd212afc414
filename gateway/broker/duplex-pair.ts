/**
 * Two in-memory streams joined like the two ends of a socket: what one end writes, the other reads; ending
 * one ends the other's reading, destroying one closes both. The gateway's own connection to the embedded
 * broker runs over such a pair (issue 13): no loopback TCP, no syscalls per packet. (Node 22 has
 * stream.duplexPair; Node 20, which we support, does not.)
 */
import { Duplex } from 'node:stream';

export class PairEnd extends Duplex {
  peer!: PairEnd;
  /** Our write waiting for the peer's reader: held while the peer's read buffer is full (backpressure). */
  private blockedWrite: (() => void) | undefined;
  /** Bytes handed to the peer's read buffer so far. */
  private pushed = 0;
  /** Bytes of the write whose callback waits for the peer's reader (pushed, but still in writableLength). */
  private blockedBytes = 0;

  constructor() {
    super({ allowHalfOpen: false }); // as a socket: when the peer ends, this end ends too
  }

  /** Everything written at this end has been read at the other (nothing buffered on either side). */
  get delivered(): boolean {
    return this.writableLength === 0 && this.peer.readableLength === 0;
  }

  /** Bytes written at this end so far, the ones still buffered here included (a count to compare with `readByPeer`). */
  get written(): number {
    return this.pushed + this.writableLength - this.blockedBytes;
  }

  /** Bytes the other end has read of what this end wrote. */
  get readByPeer(): number {
    return this.pushed - this.peer.readableLength;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(new Error('the other end of the in-memory connection is closed'));
    this.pushed += chunk.length;
    if (this.peer.push(chunk)) return callback();
    this.blockedBytes = chunk.length;
    this.peer.onNextRead(() => {
      this.blockedBytes = 0;
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _read(): void {
    const resume = this.blockedWrite;
    this.blockedWrite = undefined;
    resume?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }

  private onNextRead(resume: () => void): void {
    this.blockedWrite = resume;
  }
}

export function duplexPair(): [PairEnd, PairEnd] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
