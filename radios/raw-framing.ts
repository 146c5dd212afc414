/**
 * Raw framing of MQTT-SN on a serial line, as mqtt-sn-serial-bridge (njh/mqtt-sn-tools) and simple
 * Arduino clients send it: bare frames back to back, each delimited by its own Length field
 * (MQTT-SN 1.2 §5.2.1: one octet 0x02..0xFF, or 0x01 followed by a big-endian uint16).
 *
 * There is no marker to resynchronise on, so a pause on the line does it: a partial frame that sees
 * no byte for `interByteGapMs` is discarded and the next byte is read as a Length field again.
 *
 * A forwarder's frame (§5.5, MsgType 0xFE) is the encapsulation header, whose own Length stops at the
 * Wireless Node Id, followed by a whole MQTT-SN frame: both are read and delivered as one frame.
 *
 * Pure: time comes in as `nowMs`, so it is testable without timers; the radio drives `checkGap`.
 */

export type RawDiscardReason =
  /** A Length octet of 0x00, or a long form whose uint16 cannot hold its own header. */
  | 'invalid-length'
  /** The frame's Length is above maxFrameSize; its bytes are skipped. */
  | 'too-large'
  /** A partial frame saw no byte for interByteGapMs. */
  | 'gap';

export interface RawDiscard {
  reason: RawDiscardReason;
  /** Bytes thrown away (for 'too-large', the Length the frame announced). */
  bytes: number;
}

export interface RawFramerResult {
  frames: Buffer[];
  discarded: RawDiscard[];
}

export interface RawFramerOptions {
  maxFrameSize: number;
  interByteGapMs: number;
}

/** Marks the 3-octet long form of the Length field (§5.2.1). */
const LONG_LENGTH_MARKER = 0x01;
const LONG_HEADER_SIZE = 3;
/** MsgType of the Forwarder Encapsulation (§5.5). */
const ENCAPSULATED = 0xfe;

export class RawFramer {
  private readonly maxFrameSize: number;
  private readonly interByteGapMs: number;
  /** Bytes of the frame being assembled (header included). */
  private readonly partial: Buffer;
  private partialLength = 0;
  /** Total length the pending frame announced, once known. */
  private expected = 0;
  /** Where the Length field being read starts: 0, or the end of an encapsulation header. */
  private base = 0;
  /** Bytes still to skip of an oversized frame. */
  private skipping = 0;
  private lastByteAtMs = 0;

  constructor(options: RawFramerOptions) {
    this.maxFrameSize = options.maxFrameSize;
    this.interByteGapMs = options.interByteGapMs;
    this.partial = Buffer.alloc(Math.max(options.maxFrameSize, LONG_HEADER_SIZE));
  }

  /** True while a frame has started and not finished (the radio arms its gap timer then). */
  get hasPending(): boolean {
    return this.partialLength > 0 || this.skipping > 0;
  }

  /** Feeds bytes read from the line at `nowMs`; returns the whole frames they completed. */
  push(bytes: Uint8Array, nowMs: number): RawFramerResult {
    const result: RawFramerResult = { frames: [], discarded: [] };
    const stale = this.checkGap(nowMs);
    if (stale) result.discarded.push(stale);
    if (bytes.length > 0) this.lastByteAtMs = nowMs;

    let invalidRun = 0;
    const flushInvalid = (): void => {
      if (invalidRun > 0) result.discarded.push({ reason: 'invalid-length', bytes: invalidRun });
      invalidRun = 0;
    };

    let i = 0;
    while (i < bytes.length) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, bytes.length - i);
        this.skipping -= n;
        i += n;
        continue;
      }
      const byte = bytes[i++];
      if (this.partialLength === 0 && byte === 0x00) {
        invalidRun++;
        continue;
      }
      flushInvalid();
      this.partial[this.partialLength++] = byte;
      this.onHeaderByte(result);
      if (this.expected > 0 && this.partialLength === this.expected) {
        if (this.base === 0 && this.isEncapsulationHeader()) {
          // The wrapped frame follows; its own Length field comes next.
          this.base = this.partialLength;
          this.expected = 0;
          continue;
        }
        result.frames.push(Buffer.from(this.partial.subarray(0, this.partialLength)));
        this.resetFrame();
      }
    }
    flushInvalid();
    return result;
  }

  /** When the pending partial frame becomes stale (its last byte's time plus the gap). */
  get gapDueAt(): number {
    return this.lastByteAtMs + this.interByteGapMs;
  }

  /** Discards a partial frame older than the gap; returns what was discarded, if anything. */
  checkGap(nowMs: number): RawDiscard | undefined {
    if (!this.hasPending || nowMs - this.lastByteAtMs < this.interByteGapMs) return undefined;
    const bytes = this.partialLength;
    this.resetFrame();
    // The tail of an oversized frame was already reported as 'too-large'.
    return bytes > 0 ? { reason: 'gap', bytes } : undefined;
  }

  /** Forgets everything pending (after the line was reopened). */
  reset(): void {
    this.resetFrame();
  }

  /** Works out the frame length once the Length field is complete. */
  private onHeaderByte(result: RawFramerResult): void {
    if (this.expected > 0) return;
    const base = this.base;
    const first = this.partial[base];
    let announced: number;
    if (first === 0x00 || (base > 0 && first === undefined)) {
      // Only reachable inside an encapsulation: the wrapped frame's Length is invalid.
      result.discarded.push({ reason: 'invalid-length', bytes: this.partialLength });
      this.resetFrame();
      return;
    }
    if (first !== LONG_LENGTH_MARKER) {
      announced = first;
    } else {
      if (this.partialLength - base < LONG_HEADER_SIZE) {
        if (base + LONG_HEADER_SIZE > this.partial.length) this.tooLarge(result, base + LONG_HEADER_SIZE);
        return;
      }
      announced = this.partial.readUInt16BE(base + 1);
      if (announced <= LONG_HEADER_SIZE) {
        // Cannot even hold a MsgType, so this was not a Length field: drop it and read on.
        result.discarded.push({ reason: 'invalid-length', bytes: this.partialLength });
        this.resetFrame();
        return;
      }
    }
    if (base + announced > this.maxFrameSize) {
      this.tooLarge(result, base + announced);
      return;
    }
    this.expected = base + announced;
  }

  /** Skips the rest of a frame that will not fit; `total` is its whole announced length. */
  private tooLarge(result: RawFramerResult, total: number): void {
    result.discarded.push({ reason: 'too-large', bytes: total });
    this.skipping = Math.max(0, total - this.partialLength);
    this.partialLength = 0;
    this.expected = 0;
    this.base = 0;
  }

  /** The complete frame so far is a §5.5 encapsulation header (MsgType 0xFE). */
  private isEncapsulationHeader(): boolean {
    const typeAt = this.partial[0] === LONG_LENGTH_MARKER ? LONG_HEADER_SIZE : 1;
    return this.partialLength > typeAt && this.partial[typeAt] === ENCAPSULATED;
  }

  private resetFrame(): void {
    this.partialLength = 0;
    this.expected = 0;
    this.skipping = 0;
    this.base = 0;
  }
}
