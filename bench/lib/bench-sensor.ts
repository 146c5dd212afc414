/**
 * A lean MQTT-SN sensor for load generation: one raw UDP socket, frames encoded with sn-codec once
 * and patched in place on the hot path, replies recognised by their MsgType byte. SnUdpPeer keeps logs
 * and a promise per expected reply, which is right for tests and too heavy for 50,000 messages a second.
 */
import dgram from 'node:dgram';
import { decode, encode, MsgType, type SnMessage } from '../../sn-codec/index.js';

/** Loopback receive buffers big enough that the load generator is not where datagrams are lost. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

export class BenchSensor {
  /** Hot-path receiver; set by a scenario. Gets every datagram whose request() is not waiting for it. */
  onFrame: ((frame: Buffer) => void) | undefined;
  private waiting: { type: number; resolve(frame: Buffer): void } | undefined;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (frame: Buffer) => {
      const waiting = this.waiting;
      if (waiting && frame[1] === waiting.type) {
        this.waiting = undefined;
        waiting.resolve(frame);
        return;
      }
      this.onFrame?.(frame);
    });
  }

  /**
   * The socket is connected to the gateway, as a sensor that only ever talks to its gateway would be:
   * a send then skips the address lookup an unconnected send makes (dns.lookup answers even a literal
   * on the next tick), which the gateway's own UDP radio avoids too (radios/udp.ts, lookupUdpAddress).
   */
  static async open(gatewayPort: number, bigBuffers = true): Promise<BenchSensor> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.connect(gatewayPort, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
    if (bigBuffers) socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    return new BenchSensor(socket);
  }

  send(frame: Buffer): void {
    this.socket.send(frame);
  }

  /** Sends `message` and waits for the first reply of `replyType`, resending on time-out; the reply is decoded. */
  async request(message: SnMessage, replyType: number, timeoutMs = 1000, attempts = 5): Promise<SnMessage> {
    const frame = encode(message);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting = undefined;
          resolve(undefined);
        }, timeoutMs);
        this.waiting = { type: replyType, resolve: (f) => { clearTimeout(timer); resolve(f); } };
        this.send(frame);
      });
      if (reply) return decode(reply);
    }
    throw new Error(`no ${replyType.toString(16)} reply to ${message.type} after ${attempts} attempts`);
  }

  /** CONNECT (no will) and expect CONNACK accepted. */
  async connect(clientId: string, keepAliveSeconds: number, cleanSession = true): Promise<void> {
    const connack = await this.request({ type: 'CONNECT', will: false, cleanSession, duration: keepAliveSeconds, clientId }, MsgType.CONNACK);
    if (connack.type !== 'CONNACK' || connack.returnCode !== 0) throw new Error(`${clientId}: CONNACK ${JSON.stringify(connack)}`);
  }

  /** REGISTER a topic name; returns the topic id from REGACK. */
  async register(topicName: string, msgId = 1): Promise<number> {
    const regack = await this.request({ type: 'REGISTER', topicId: 0, msgId, topicName }, MsgType.REGACK);
    if (regack.type !== 'REGACK' || regack.returnCode !== 0) throw new Error(`REGISTER ${topicName}: ${JSON.stringify(regack)}`);
    return regack.topicId;
  }

  /** SUBSCRIBE by topic name (QoS 0 unless asked); resolves on SUBACK accepted. */
  async subscribe(topicName: string, msgId = 1, qos: 0 | 1 | 2 = 0): Promise<void> {
    const suback = await this.request({ type: 'SUBSCRIBE', dup: false, qos, msgId, topic: { topicIdType: 'normal', topicName } }, MsgType.SUBACK);
    if (suback.type !== 'SUBACK' || suback.returnCode !== 0) throw new Error(`SUBSCRIBE ${topicName}: ${JSON.stringify(suback)}`);
  }

  /** DISCONNECT with Duration (§6.14): asleep once the gateway answers DISCONNECT. */
  async sleep(seconds: number): Promise<void> {
    await this.request({ type: 'DISCONNECT', duration: seconds }, MsgType.DISCONNECT);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Binds `count` sensor sockets side by side. */
export async function openSensors(count: number, gatewayPort: number): Promise<BenchSensor[]> {
  return Promise.all(Array.from({ length: count }, () => BenchSensor.open(gatewayPort)));
}

/**
 * A PUBLISH frame for one sensor, encoded once; `setMsgId` patches the MsgId bytes in place.
 * Only patch a frame whose previous send has completed (one in flight per sensor guarantees it).
 */
export class PublishTemplate {
  readonly frame: Buffer;
  private readonly msgIdOffset: number;

  constructor(qos: 0 | 1, topicId: number, payload: Buffer) {
    this.frame = encode({ type: 'PUBLISH', dup: false, qos, retain: false, topicIdType: 'normal', topicId, msgId: qos === 0 ? 0 : 1, payload });
    // Length(1) MsgType(1) Flags(1) TopicId(2) MsgId(2) Data(n), for frames under 256 bytes (§5.2).
    this.msgIdOffset = this.frame.length - payload.length - 2;
  }

  setMsgId(msgId: number): Buffer {
    this.frame.writeUInt16BE(msgId, this.msgIdOffset);
    return this.frame;
  }

  /** Writes a send time (MONOTONIC_BASE_MS + performance.now()) over the payload's first 8 bytes: see SENT_STAMP_OFFSET. */
  stamp(monotonicMs: number): void {
    this.frame.writeDoubleBE(monotonicMs, this.msgIdOffset + 2);
  }
}

/** Where a stamped PUBLISH frame (PublishTemplate.stamp) carries its send time: the payload's start, after MsgId. */
export const SENT_STAMP_OFFSET = 7;

/** PUBACK (§5.4.13): Length(1)=7 MsgType(1) TopicId(2) MsgId(2) ReturnCode(1). */
export const PUBACK_MSGID_OFFSET = 4;
export const PUBACK_RC_OFFSET = 6;
