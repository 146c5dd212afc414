/**
 * MQTT-SN over a serial line (USB CDC, UART): the line is one peer, addressed `serial:<path>`.
 * Framing is 'slip' (RFC 1055) or 'raw' (bare frames delimited by their own Length field; see raw-framing.ts).
 * A forwarder on the line (§5.5) still has this one address; the core tells its nodes apart by Node Id.
 */
import type { BackoffOptions } from '../common/backoff.js';
import type { Radio, RadioKind, RadioSink } from './radio.js';
import { RawFramer, type RawDiscard } from './raw-framing.js';
import { SerialLink, type SerialBinding } from './serial-port.js';
import { SlipFraming } from './slip-framing.js';

export interface SerialRadioOptions {
  /** Hardware access; defaults to serialport's native binding. Tests pass MockBinding from @serialport/binding-mock. */
  binding?: SerialBinding;
  /** Reopen delays; tests shorten them. */
  backoff?: BackoffOptions;
  /** Milliseconds for the raw framing's inter-byte gap; default performance.now. Tests script it. */
  now?: () => number;
}

export interface SerialRadioStats {
  framesIn: number;
  framesOut: number;
  /** Received frames thrown away: oversized, broken Length, or cut off by an inter-byte gap. */
  badFrames: number;
  /** Frames the gateway asked to send that were larger than maxFrameSize. */
  framesRefused: number;
  /** Frames not sent because the port was closed. */
  framesDropped: number;
  /** Times the port was (re)opened. */
  opens: number;
}

/** One `type: serial` entry of gateway.yaml's `radios:`, defaults filled in (gateway/config/config.ts reads it). */
export interface SerialRadioConfig {
  type: 'serial';
  name: string;
  path: string;
  baudRate: number;
  framing: 'slip' | 'raw';
  /** raw framing: a gap this long (ms) between bytes resynchronises the stream. */
  interByteGapMs: number;
  maxFrameSize: number;
}

export class SerialRadio implements Radio {
  readonly kind: RadioKind = 'serial';
  readonly name: string;
  readonly maxFrameSize: number;
  /** The one peer on this line. */
  readonly address: string;
  readonly stats: SerialRadioStats = { framesIn: 0, framesOut: 0, badFrames: 0, framesRefused: 0, framesDropped: 0, opens: 0 };

  private sink: RadioSink | undefined;
  private link: SerialLink | undefined;
  private readonly slip: SlipFraming | undefined;
  private readonly raw: RawFramer | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  /** Set once a frame was dropped while the port was down, so an outage logs one line, not one per frame. */
  private droppedWhileDown = false;

  constructor(
    private readonly config: SerialRadioConfig,
    private readonly options: SerialRadioOptions = {},
  ) {
    this.name = config.name;
    this.maxFrameSize = config.maxFrameSize;
    this.address = `serial:${config.path}`;
    if (config.framing === 'slip') {
      this.slip = new SlipFraming(
        {
          frame: (frame) => this.deliver(frame),
          wire: (bytes) => this.writeToLine(bytes),
          overflow: (bytes) => this.reportDiscard({ reason: 'too-large', bytes }),
        },
        config.maxFrameSize,
      );
    } else {
      this.raw = new RawFramer({ maxFrameSize: config.maxFrameSize, interByteGapMs: config.interByteGapMs });
    }
  }

  async start(sink: RadioSink): Promise<void> {
    this.sink = sink;
    this.link ??= new SerialLink(
      {
        name: this.name,
        path: this.config.path,
        baudRate: this.config.baudRate,
        binding: this.options.binding,
        backoff: this.options.backoff,
      },
      {
        data: (chunk) => this.receive(chunk),
        opened: () => {
          this.stats.opens++;
          this.droppedWhileDown = false;
          this.slip?.reset();
          this.raw?.reset();
        },
        closed: () => this.clearGapTimer(),
        log: (level, message) => sink.log(level, message),
      },
    );
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.clearGapTimer();
    await this.link?.stop();
  }

  get up(): boolean {
    return this.link?.isOpen ?? false;
  }

  /** The line has one peer, so `address` only names it in log lines. */
  send(address: string, frame: Buffer): void {
    if (frame.length > this.maxFrameSize) {
      this.stats.framesRefused++;
      this.sink?.log(
        'warn',
        `${this.name}: refusing to send a ${frame.length}-byte frame to ${address}: larger than maxFrameSize ${this.maxFrameSize}`,
      );
      return;
    }
    if (!this.link?.isOpen) {
      this.dropWhileDown(address);
      return;
    }
    if (this.slip) this.slip.send(frame);
    else this.writeToLine(frame);
  }

  broadcast(frame: Buffer): void {
    this.send(this.address, frame);
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  private receive(chunk: Buffer): void {
    if (this.slip) {
      this.slip.receive(chunk);
      return;
    }
    const raw = this.raw!;
    const { frames, discarded } = raw.push(chunk, this.now());
    for (const discard of discarded) this.reportDiscard(discard);
    for (const frame of frames) this.deliver(frame);
    this.clearGapTimer();
    if (raw.hasPending) this.armGapTimer(raw, this.config.interByteGapMs);
  }

  /**
   * Drops a partial frame once the line has been quiet for the gap. A timer can fire early by the
   * event loop's lag (it counts from the loop's cached time, not from now): then it waits out the rest.
   */
  private armGapTimer(raw: RawFramer, delayMs: number): void {
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      const now = this.now();
      const stale = raw.checkGap(now);
      if (stale) this.reportDiscard(stale);
      else if (raw.hasPending) this.armGapTimer(raw, Math.max(1, raw.gapDueAt - now));
    }, delayMs);
    this.gapTimer.unref();
  }

  private deliver(frame: Buffer): void {
    if (frame.length > this.maxFrameSize) {
      this.reportDiscard({ reason: 'too-large', bytes: frame.length });
      return;
    }
    this.stats.framesIn++;
    this.sink?.frame(this, this.address, frame);
  }

  private reportDiscard(discard: RawDiscard): void {
    this.stats.badFrames++;
    const why: Record<RawDiscard['reason'], string> = {
      'invalid-length': `discarded ${discard.bytes} byte(s) that are not a valid Length field`,
      'too-large': `discarded a frame of at least ${discard.bytes} bytes: larger than maxFrameSize ${this.maxFrameSize}`,
      gap: `discarded a partial frame of ${discard.bytes} byte(s) after a ${this.config.interByteGapMs} ms gap`,
    };
    this.sink?.log('warn', `${this.name}: ${this.config.path}: ${why[discard.reason]}`);
  }

  private writeToLine(bytes: Buffer): void {
    if (this.link?.write(bytes)) this.stats.framesOut++;
    else this.dropWhileDown(this.address);
  }

  private dropWhileDown(address: string): void {
    this.stats.framesDropped++;
    if (this.droppedWhileDown) return;
    this.droppedWhileDown = true;
    this.sink?.log('warn', `${this.name}: ${this.config.path} is not open; dropping frames to ${address} until it reopens`);
  }

  private clearGapTimer(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }
}
