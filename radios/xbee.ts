/**
 * MQTT-SN over Digi XBee modules in API mode (AP=1, or AP=2 escaped) on a serial port.
 *
 * Addresses: `xbee:<64-bit source, 16 lowercase hex>` for every frame that carries it (0x90, 0x80).
 * The 16-bit network address changes when a node rejoins, so it never names a client; only an
 * 802.15.4 RX16 frame (0x81), which carries nothing else, yields `xbee16:<4 lowercase hex>`.
 *
 * Zigbee/DigiMesh modules are spoken to with 0x10 Transmit Request / 0x8B Transmit Status. The radio
 * switches to the 802.15.4 frames (0x00 TX64, 0x01 TX16 / 0x89 TX Status) once it hears an 802.15.4
 * frame (0x80, 0x81, 0x89) from its module; `xbee16:` peers are always sent TX16.
 */
import type { BackoffOptions } from '../common/backoff.js';
import type { Radio, RadioKind, RadioSink } from './radio.js';
import { SerialLink, type SerialBinding } from './serial-port.js';
import {
  BROADCAST_64,
  UNKNOWN_16,
  decodeApiFrame,
  encodeApiFrame,
  encodeTransmitRequest,
  encodeTx16Request,
  encodeTx64Request,
  XBeeApiParser,
  type XBeeApiFrame,
  type XBeeParseProblem,
} from './xbee-api.js';

export interface XBeeRadioOptions {
  /** Hardware access; defaults to serialport's native binding. Tests pass MockBinding from @serialport/binding-mock. */
  binding?: SerialBinding;
  /** How long a unicast waits for its Transmit Status before it counts as not delivered (default 10 s). */
  txStatusTimeoutMs?: number;
  /** Reopen delays; tests shorten them. */
  backoff?: BackoffOptions;
}

export interface XBeeRadioStats {
  framesIn: number;
  framesOut: number;
  /** API frames dropped: bad checksum, impossible length, cut short by a new start byte, too short for their type. */
  badFrames: number;
  /** Bytes between frames, skipped while looking for the next start byte. */
  garbageBytes: number;
  /** API frames of types the gateway does not use (modem status, AT responses...). */
  otherFrames: number;
  /** Unicasts reported not delivered by the module, or with no Transmit Status in time. */
  deliveryFailures: number;
  /** Frames the gateway asked to send that were larger than maxFrameSize. */
  framesRefused: number;
  /** Frames not sent because the port was closed or the address was not an XBee address. */
  framesDropped: number;
  /** Times the port was (re)opened. */
  opens: number;
}

/** Zigbee/DigiMesh 0x8B delivery status codes (XBee 3 Zigbee user guide). */
const DELIVERY_STATUS: Record<number, string> = {
  0x01: 'MAC ACK failure',
  0x02: 'CCA/LBT failure',
  0x03: 'indirect message unrequested / purged',
  0x04: 'transceiver unable to complete the transmission',
  0x15: 'invalid destination endpoint',
  0x18: 'no buffers',
  0x21: 'network ACK failure',
  0x22: 'not joined to a network',
  0x23: 'self-addressed',
  0x24: 'address not found',
  0x25: 'route not found',
  0x26: 'broadcast relay not heard',
  0x2b: 'invalid binding table index',
  0x2c: 'resource error (lack of buffers, timers)',
  0x2d: 'broadcast with APS transmission attempted',
  0x2e: 'unicast with APS transmission attempted, but EE=0',
  0x31: 'internal resource error',
  0x32: 'resource error (lack of free buffers)',
  0x74: 'payload too large',
  0x75: 'indirect message unrequested',
};

/** 802.15.4 0x89 TX Status codes. */
const TX_STATUS: Record<number, string> = {
  0x01: 'no ACK received',
  0x02: 'CCA failure',
  0x03: 'purged',
};

function statusText(table: Record<number, string>, status: number): string {
  const hex = `0x${status.toString(16).padStart(2, '0')}`;
  return table[status] ? `${table[status]} (${hex})` : `status ${hex}`;
}

const ADDRESS_64 = /^xbee:([0-9a-f]{16})$/;
const ADDRESS_16 = /^xbee16:([0-9a-f]{4})$/;

type ModuleFamily = 'zigbee' | '802.15.4';

interface AwaitingStatus {
  address: string;
  timer: NodeJS.Timeout;
}

/** One `type: xbee` entry of gateway.yaml's `radios:`, defaults filled in (gateway/config/config.ts reads it). */
export interface XBeeRadioConfig {
  type: 'xbee';
  name: string;
  path: string;
  baudRate: number;
  apiMode: 1 | 2;
  maxFrameSize: number;
}

export class XBeeRadio implements Radio {
  readonly kind: RadioKind = 'xbee';
  readonly name: string;
  readonly maxFrameSize: number;
  readonly stats: XBeeRadioStats = {
    framesIn: 0,
    framesOut: 0,
    badFrames: 0,
    garbageBytes: 0,
    otherFrames: 0,
    deliveryFailures: 0,
    framesRefused: 0,
    framesDropped: 0,
    opens: 0,
  };

  private sink: RadioSink | undefined;
  private link: SerialLink | undefined;
  private readonly parser: XBeeApiParser;
  private readonly txStatusTimeoutMs: number;
  private family: ModuleFamily = 'zigbee';
  private lastFrameId = 0;
  private readonly awaitingStatus = new Map<number, AwaitingStatus>();
  private droppedWhileDown = false;

  get up(): boolean {
    return this.link?.isOpen ?? false;
  }

  constructor(
    private readonly config: XBeeRadioConfig,
    private readonly options: XBeeRadioOptions = {},
  ) {
    this.name = config.name;
    this.maxFrameSize = config.maxFrameSize;
    this.parser = new XBeeApiParser(config.apiMode);
    this.txStatusTimeoutMs = options.txStatusTimeoutMs ?? 10_000;
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
          this.parser.reset();
        },
        closed: () => this.failAllAwaiting('serial port closed'),
        log: (level, message) => sink.log(level, message),
      },
    );
    await this.link.start();
  }

  async stop(): Promise<void> {
    for (const { timer } of this.awaitingStatus.values()) clearTimeout(timer);
    this.awaitingStatus.clear();
    await this.link?.stop();
  }

  send(address: string, frame: Buffer): void {
    if (!this.fits(address, frame)) return;
    const frameId = this.nextFrameId();
    const frameData = this.unicastRequest(address, frameId, frame);
    if (!frameData) {
      this.stats.framesDropped++;
      this.sink?.log('warn', `${this.name}: cannot send to ${address}: not an xbee: or xbee16: address`);
      return;
    }
    if (!this.write(frameData, address)) {
      this.sink?.deliveryFailed?.(this, address, 'serial port not open');
      return;
    }
    this.awaitStatus(frameId, address);
  }

  /** Broadcasts ask for no Transmit Status (frame id 0): a failure to "everyone" names no client. */
  broadcast(frame: Buffer): void {
    if (!this.fits('broadcast', frame)) return;
    const frameData =
      this.family === 'zigbee'
        ? encodeTransmitRequest({ frameId: 0, destination64: BROADCAST_64, destination16: UNKNOWN_16, radius: 0, options: 0, data: frame })
        : encodeTx64Request({ frameId: 0, destination64: BROADCAST_64, options: 0, data: frame });
    this.write(frameData, 'broadcast');
  }

  private fits(address: string, frame: Buffer): boolean {
    if (frame.length <= this.maxFrameSize) return true;
    this.stats.framesRefused++;
    this.sink?.log(
      'warn',
      `${this.name}: refusing to send a ${frame.length}-byte frame to ${address}: larger than maxFrameSize ${this.maxFrameSize}`,
    );
    return false;
  }

  private unicastRequest(address: string, frameId: number, data: Buffer): Buffer | undefined {
    const long = ADDRESS_64.exec(address);
    if (long) {
      const destination64 = Buffer.from(long[1], 'hex');
      return this.family === 'zigbee'
        ? encodeTransmitRequest({ frameId, destination64, destination16: UNKNOWN_16, radius: 0, options: 0, data })
        : encodeTx64Request({ frameId, destination64, options: 0, data });
    }
    const short = ADDRESS_16.exec(address);
    if (short) return encodeTx16Request({ frameId, destination16: parseInt(short[1], 16), options: 0, data });
    return undefined;
  }

  /** Rolls 1..255; 0 would ask the module for no Transmit Status. */
  private nextFrameId(): number {
    this.lastFrameId = (this.lastFrameId % 255) + 1;
    return this.lastFrameId;
  }

  private write(frameData: Buffer, address: string): boolean {
    if (this.link?.write(encodeApiFrame(frameData, this.config.apiMode))) {
      this.stats.framesOut++;
      return true;
    }
    this.stats.framesDropped++;
    if (!this.droppedWhileDown) {
      this.droppedWhileDown = true;
      this.sink?.log('warn', `${this.name}: ${this.config.path} is not open; dropping frames to ${address} until it reopens`);
    }
    return false;
  }

  private awaitStatus(frameId: number, address: string): void {
    const previous = this.awaitingStatus.get(frameId);
    // 255 frames later the id comes round again: the old one's status is not coming.
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.awaitingStatus.delete(frameId);
      this.notDelivered(frameId, address, `no transmit status within ${this.txStatusTimeoutMs} ms`);
    }, this.txStatusTimeoutMs);
    timer.unref();
    this.awaitingStatus.set(frameId, { address, timer });
  }

  private onStatus(frameId: number, status: number, table: Record<number, string>): void {
    const awaiting = this.awaitingStatus.get(frameId);
    if (!awaiting) return; // a broadcast (id 0), or already timed out
    clearTimeout(awaiting.timer);
    this.awaitingStatus.delete(frameId);
    if (status !== 0) this.notDelivered(frameId, awaiting.address, statusText(table, status));
  }

  private notDelivered(frameId: number, address: string, reason: string): void {
    this.stats.deliveryFailures++;
    this.sink?.log('warn', `${this.name}: frame ${frameId} to ${address} not delivered: ${reason}`);
    this.sink?.deliveryFailed?.(this, address, reason);
  }

  private failAllAwaiting(reason: string): void {
    const awaiting = [...this.awaitingStatus.entries()];
    this.awaitingStatus.clear();
    for (const [frameId, { address, timer }] of awaiting) {
      clearTimeout(timer);
      this.notDelivered(frameId, address, reason);
    }
  }

  private receive(chunk: Buffer): void {
    const { frames, problems, skippedBytes } = this.parser.push(chunk);
    this.stats.garbageBytes += skippedBytes;
    for (const problem of problems) this.reportProblem(problem);
    for (const frameData of frames) this.dispatch(decodeApiFrame(frameData));
  }

  private dispatch(frame: XBeeApiFrame): void {
    switch (frame.type) {
      case 'receivePacket':
        this.family = 'zigbee';
        this.deliver(`xbee:${frame.source64.toString('hex')}`, frame.data);
        return;
      case 'rx64':
        this.family = '802.15.4';
        this.deliver(`xbee:${frame.source64.toString('hex')}`, frame.data);
        return;
      case 'rx16':
        this.family = '802.15.4';
        this.deliver(`xbee16:${frame.source16.toString(16).padStart(4, '0')}`, frame.data);
        return;
      case 'transmitStatus':
        this.onStatus(frame.frameId, frame.deliveryStatus, DELIVERY_STATUS);
        return;
      case 'txStatus':
        this.family = '802.15.4';
        this.onStatus(frame.frameId, frame.status, TX_STATUS);
        return;
      case 'other':
        this.stats.otherFrames++;
        this.sink?.log('debug', `${this.name}: ignoring API frame type 0x${frame.frameType.toString(16).padStart(2, '0')}`);
        return;
      case 'malformed':
        this.stats.badFrames++;
        this.sink?.log('warn', `${this.name}: dropped API frame type 0x${frame.frameType.toString(16)}: ${frame.reason}`);
        return;
    }
  }

  private deliver(address: string, data: Buffer): void {
    if (data.length === 0) return;
    this.stats.framesIn++;
    this.sink?.frame(this, address, data);
  }

  private reportProblem(problem: XBeeParseProblem): void {
    this.stats.badFrames++;
    const what =
      problem.kind === 'checksum'
        ? `bad checksum on a ${problem.length}-byte frame (type 0x${problem.frameType.toString(16).padStart(2, '0')})`
        : problem.kind === 'truncated'
          ? `frame cut short after ${problem.received} byte(s) by a new start byte`
          : `impossible frame length ${problem.length}`;
    this.sink?.log('warn', `${this.name}: ${this.config.path}: dropped ${what}`);
  }
}
