/**
 * SLIP framing (RFC 1055) of MQTT-SN frames on a serial line, using serialport's own encoder and decoder.
 * Each frame written is one SLIP packet (…payload… END 0xC0, with 0xC0 → DB DC and 0xDB → DB DD).
 */
import { SlipDecoder, SlipEncoder } from '@serialport/parser-slip-encoder';

export interface SlipFramingEvents {
  /** A whole decoded packet (never empty). */
  frame(frame: Buffer): void;
  /** Encoded bytes ready for the line. */
  wire(bytes: Buffer): void;
  /** A packet grew past maxFrameSize before its END; it is dropped up to that END. */
  overflow(bytesSoFar: number): void;
}

/** SLIP END: never appears inside an encoded packet, so it is always a packet boundary. */
const END = 0xc0;

export class SlipFraming {
  private readonly encoder = new SlipEncoder();
  private decoder: SlipDecoder;
  /** Set after an overflow: bytes are skipped up to the next END instead of decoded. */
  private skippingToEnd = false;

  constructor(
    private readonly events: SlipFramingEvents,
    private readonly maxFrameSize: number,
  ) {
    this.encoder.on('data', (bytes: Buffer) => events.wire(bytes));
    this.decoder = this.newDecoder();
  }

  /** Bytes read from the line. */
  receive(chunk: Buffer): void {
    if (this.skippingToEnd) {
      const end = chunk.indexOf(END);
      if (end < 0) return;
      this.skippingToEnd = false;
      chunk = chunk.subarray(end + 1);
    }
    this.decoder.write(chunk);
    // A line that never sends END (noise, wrong baud rate) must not grow the decoder's buffer without bound.
    const pending = this.decoder.buffer.length;
    if (pending > this.maxFrameSize) {
      this.reset();
      this.skippingToEnd = true;
      this.events.overflow(pending);
    }
  }

  /** One frame to send; comes out of `wire` as one SLIP packet. */
  send(frame: Buffer): void {
    this.encoder.write(frame);
  }

  /** Drops a half-received packet (after the line was reopened). */
  reset(): void {
    this.skippingToEnd = false;
    this.decoder.removeAllListeners();
    this.decoder.destroy();
    this.decoder = this.newDecoder();
  }

  private newDecoder(): SlipDecoder {
    // Object mode keeps packets apart; otherwise packets decoded while the stream is paused merge into one chunk.
    const decoder = new SlipDecoder({ readableObjectMode: true });
    decoder.on('data', (frame: Buffer) => {
      // Leading or doubled END bytes (used by senders to flush line noise) decode as empty packets.
      if (frame.length > 0) this.events.frame(frame);
    });
    return decoder;
  }
}
