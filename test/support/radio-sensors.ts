/**
 * Simulated sensors on the non-UDP radios, speaking real bytes:
 * - on a real pseudo-terminal pair made by socat (the gateway opens one end with serialport's real binding,
 *   the sensor writes and reads the other end): SLIP frames, raw frames, XBee API frames;
 * - on Zigbee through the fake herdsman adapter: ZCL frames of our manufacturer-specific cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { decode, encode, peekFrameLength } from '../../sn-codec/index.js';
import type { SnMessage, SnMessageOf, SnMessageType } from '../../sn-codec/types.js';
import { encodeApiFrame, FrameType, XBeeApiParser } from '../../radios/xbee-api.js';
import type { FakeZigbeeAdapter } from './fake-zigbee-adapter.js';
import { until, WAIT_MS } from './harness.js';

/** A sensor on some radio: sends MQTT-SN messages, and reads the ones the gateway sends it, in order. */
export abstract class RadioSensor {
  readonly received: SnMessage[] = [];
  private cursor = 0;

  abstract send(message: SnMessage): void;
  abstract close(): Promise<void>;

  protected arrive(frame: Buffer): void {
    this.received.push(decode(Buffer.from(frame)));
  }

  async expect<T extends SnMessageType>(type: T, timeoutMs = WAIT_MS): Promise<SnMessageOf<T>> {
    await until(() => this.received.length > this.cursor, timeoutMs, () => `a ${type} from the gateway; got ${JSON.stringify(this.received.map((m) => m.type))}`);
    const message = this.received[this.cursor++];
    if (message.type !== type) throw new Error(`expected ${type}, got ${message.type} ${JSON.stringify(message)}`);
    return message as SnMessageOf<T>;
  }

  /** Skips ADVERTISE broadcasts the gateway sends at start-up. */
  skipBroadcasts(): void {
    while (this.cursor < this.received.length && this.received[this.cursor].type === 'ADVERTISE') this.cursor++;
  }
}

/** Two linked pseudo-terminals from `socat pty,raw,echo=0 pty,raw,echo=0`. */
export class PtyPair {
  private constructor(private readonly proc: ChildProcess, private readonly dir: string, readonly gatewayEnd: string, readonly sensorEnd: string) {}

  static async open(): Promise<PtyPair> {
    const dir = mkdtempSync(join(tmpdir(), 'pty-'));
    const a = join(dir, 'gateway');
    const b = join(dir, 'sensor');
    const proc = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
    await until(() => existsSync(a) && existsSync(b), undefined, () => 'socat pty links');
    return new PtyPair(proc, dir, a, b);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null) {
      await new Promise<void>((resolve) => { this.proc.once('exit', () => resolve()); this.proc.kill('SIGTERM'); });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

abstract class SerialSensor extends RadioSensor {
  protected constructor(protected readonly port: SerialPort) {
    super();
    port.on('data', (chunk: Buffer) => this.bytes(chunk));
  }

  protected static openPort(path: string): Promise<SerialPort> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(port)));
    });
  }

  protected abstract bytes(chunk: Buffer): void;

  protected write(bytes: Buffer): void {
    this.port.write(bytes);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}

const END = 0xc0, ESC = 0xdb, ESC_END = 0xdc, ESC_ESC = 0xdd;

/** RFC 1055 SLIP, written out here so the test does not share the gateway's framing code. */
export class SlipSensor extends SerialSensor {
  private pending: number[] = [];
  private escaped = false;

  static async open(path: string): Promise<SlipSensor> {
    return new SlipSensor(await SerialSensor.openPort(path));
  }

  send(message: SnMessage): void {
    const out = [END];
    for (const b of encode(message)) {
      if (b === END) out.push(ESC, ESC_END);
      else if (b === ESC) out.push(ESC, ESC_ESC);
      else out.push(b);
    }
    out.push(END);
    this.write(Buffer.from(out));
  }

  protected bytes(chunk: Buffer): void {
    for (const b of chunk) {
      if (b === END) {
        if (this.pending.length) this.arrive(Buffer.from(this.pending));
        this.pending = [];
      } else if (b === ESC) this.escaped = true;
      else {
        this.pending.push(this.escaped ? (b === ESC_END ? END : ESC) : b);
        this.escaped = false;
      }
    }
  }
}

/** Bare frames back to back, delimited by their Length field (mqtt-sn-serial-bridge, simple Arduino clients). */
export class RawSensor extends SerialSensor {
  private buffer = Buffer.alloc(0);

  static async open(path: string): Promise<RawSensor> {
    return new RawSensor(await SerialSensor.openPort(path));
  }

  send(message: SnMessage): void {
    this.write(encode(message));
  }

  /** Bytes that are not a frame: the gateway must resynchronise after them. */
  sendGarbage(bytes: Buffer): void {
    this.write(bytes);
  }

  protected bytes(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      let length = peekFrameLength(this.buffer);
      if (length === undefined || this.buffer.length < length) return;
      const typeAt = this.buffer[0] === 0x01 ? 3 : 1;
      if (this.buffer[typeAt] === 0xfe) {
        // §5.5: the encapsulation header's Length stops at the node id; the wrapped frame follows.
        const inner = peekFrameLength(this.buffer, length);
        if (inner === undefined || this.buffer.length < length + inner) return;
        length += inner;
      }
      this.arrive(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
    }
  }
}

/** An XBee module in API mode as the gateway's serial line sees it: RX packets in, transmit requests out. */
export class XBeeSensor extends SerialSensor {
  private readonly parser: XBeeApiParser;
  /** Transmit requests seen, with their destinations (hex). */
  readonly transmits: { frameId: number; destination64: string }[] = [];

  private constructor(port: SerialPort, private readonly apiMode: 1 | 2, readonly address64: Buffer) {
    super(port);
    this.parser = new XBeeApiParser(apiMode);
  }

  static async open(path: string, apiMode: 1 | 2, address64: Buffer): Promise<XBeeSensor> {
    return new XBeeSensor(await SerialSensor.openPort(path), apiMode, address64);
  }

  /** 0x90 Receive Packet from this sensor's 64-bit address. */
  send(message: SnMessage): void {
    const data = encode(message);
    const frameData = Buffer.concat([Buffer.from([FrameType.ReceivePacket]), this.address64, Buffer.from([0x12, 0x34, 0x01]), data]);
    this.write(encodeApiFrame(frameData, this.apiMode));
  }

  protected bytes(chunk: Buffer): void {
    for (const frameData of this.parser.push(chunk).frames) {
      if (frameData[0] !== FrameType.TransmitRequest) continue;
      const frameId = frameData[1];
      const destination64 = frameData.subarray(2, 10).toString('hex');
      this.transmits.push({ frameId, destination64 });
      // The module reports delivery: Transmit Status 0x8B, delivery 0x00 (success).
      if (frameId !== 0) this.write(encodeApiFrame(Buffer.from([FrameType.TransmitStatus, frameId, 0x12, 0x34, 0x00, 0x00, 0x00]), this.apiMode));
      this.arrive(frameData.subarray(14));
    }
  }
}

/** A Zigbee end device in our manufacturer-specific cluster, played through the fake adapter. */
export class ZigbeeSensor extends RadioSensor {
  private seen = 0;
  private tsn = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly adapter: FakeZigbeeAdapter,
    private readonly device: { ieeeAddr: string; networkAddress: number; endpoint: number },
    private readonly cluster: { clusterId: number; manufacturerCode: number },
  ) {
    super();
    // Downlink frames show up in the adapter's record; poll it.
    this.timer = setInterval(() => this.poll(), 5);
  }

  send(message: SnMessage): void {
    const frame = encode(message);
    const m = this.cluster.manufacturerCode;
    const zcl = Buffer.from([0x15, m & 0xff, m >> 8, this.tsn++ & 0xff, 0x00, frame.length, ...frame]);
    this.adapter.receive({ networkAddress: this.device.networkAddress, endpoint: this.device.endpoint, clusterId: this.cluster.clusterId, zcl });
  }

  private poll(): void {
    const sent = this.adapter.sentToEndpoint;
    for (; this.seen < sent.length; this.seen++) {
      const f = sent[this.seen];
      if (f.ieeeAddr !== this.device.ieeeAddr) continue;
      // ZCL header: frame control, manufacturer code (2), transaction number, command 0x00; then the octet string.
      const length = f.zcl[5];
      this.arrive(f.zcl.subarray(6, 6 + length));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
