/**
 * An in-memory Radio for unit tests of the gateway core: frames the core sends are recorded (bytes and
 * their decoding), and a test injects frames as real encoded MQTT-SN bytes, so the codec sits on the
 * path exactly as it does behind a real radio.
 */
import { decode, encode } from '../../sn-codec/index.js';
import type { SnMessage, SnMessageOf, SnMessageType } from '../../sn-codec/types.js';
import type { Radio, RadioSink } from '../../radios/radio.js';

export interface SentFrame {
  address: string;
  bytes: Buffer;
  message: SnMessage;
}

export interface BroadcastFrame {
  bytes: Buffer;
  message: SnMessage;
}

export interface MemoryRadioOptions {
  name?: string;
  /** Largest frame the radio carries; small values test the core's oversize refusal. Default 65507 (UDP). */
  maxFrameSize?: number;
}

/** ClientIds in recorded frames are decoded without the 23-byte limit: the test decides what is too long. */
const RECORDED_DECODE_OPTIONS = { maxClientIdLength: 255 };

export class MemoryRadio implements Radio {
  readonly name: string;
  readonly kind = 'udp' as const;
  /** Writable so a test can shrink the link after the handshake. */
  maxFrameSize: number;
  /** Writable so a test can take the link down. */
  up = true;
  /** Every unicast frame the core sent, in order. */
  readonly sent: SentFrame[] = [];
  readonly broadcasts: BroadcastFrame[] = [];
  private sink: RadioSink | undefined;

  constructor(options: MemoryRadioOptions = {}) {
    this.name = options.name ?? 'mem0';
    this.maxFrameSize = options.maxFrameSize ?? 65_507;
  }

  /** Attaches synchronously (the promise is only for the Radio contract). */
  start(sink: RadioSink): Promise<void> {
    this.sink = sink;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.sink = undefined;
    return Promise.resolve();
  }

  send(address: string, frame: Buffer): void {
    const bytes = Buffer.from(frame);
    this.sent.push({ address, bytes, message: decode(bytes, RECORDED_DECODE_OPTIONS) });
  }

  broadcast(frame: Buffer): void {
    const bytes = Buffer.from(frame);
    this.broadcasts.push({ bytes, message: decode(bytes, RECORDED_DECODE_OPTIONS) });
  }

  /** A frame arrives from `address`: a message is encoded first, raw bytes go as they are. */
  inject(address: string, frame: SnMessage | Buffer): void {
    if (!this.sink) throw new Error(`${this.name}: inject before start`);
    this.sink.frame(this, address, Buffer.isBuffer(frame) ? frame : encode(frame));
  }

  /** Removes and returns the messages sent to `address` so far (all addresses when omitted). */
  take(address?: string): SnMessage[] {
    const taken: SnMessage[] = [];
    for (let i = 0; i < this.sent.length;) {
      if (address === undefined || this.sent[i].address === address) {
        taken.push(this.sent[i].message);
        this.sent.splice(i, 1);
      } else {
        i++;
      }
    }
    return taken;
  }

  /** Removes and returns the messages of one type sent to `address`. */
  takeOfType<T extends SnMessageType>(address: string, type: T): SnMessageOf<T>[] {
    const taken: SnMessageOf<T>[] = [];
    for (let i = 0; i < this.sent.length;) {
      const f = this.sent[i];
      if (f.address === address && f.message.type === type) {
        taken.push(f.message as SnMessageOf<T>);
        this.sent.splice(i, 1);
      } else {
        i++;
      }
    }
    return taken;
  }
}
