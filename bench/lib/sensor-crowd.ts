/**
 * Thousands of connected sensors for the memory benchmark. Each sensor needs its own address at the
 * gateway; two ways to give it one:
 *  - forwarders = 0: one UDP socket (one source port) per sensor, what real UDP sensors look like;
 *  - forwarders = F: F sockets, each a forwarder (§5.5) wrapping its sensors' frames in ENCAPSULATED
 *    with a distinct 2-byte Wireless Node Id.
 * No promise per sensor: CONNECTs go out in groups, CONNACKs tick a flag, the missing ones are resent.
 */
import dgram from 'node:dgram';
import { decode, encode, type SnMessage } from '../../sn-codec/index.js';
import { sleep } from './timing.js';

// The gateway's UDP socket has the default receive buffer (about 200 KB, a few hundred datagrams):
// bigger groups of CONNECTs overflow it and are only resent.
const GROUP = 200;
const ROUND_MS = 500;
const ROUNDS = 10;

type Step = 'connect' | 'register' | 'subscribe';

export class SensorCrowd {
  private readonly connected: Uint8Array;
  /** Per step, 1 for each sensor whose answer came; topic ids from REGACK, for crowd publishing. */
  private readonly answered: Record<Step, Uint8Array>;
  private readonly topicIds: Uint16Array;
  resent = 0;
  refused = 0;
  sent = 0;

  private constructor(
    private readonly sockets: dgram.Socket[],
    private readonly sensors: number,
    private readonly perSocket: number,
    private readonly forwarding: boolean,
    private readonly gatewayPort: number,
    private readonly clientIdPrefix: string,
  ) {
    this.connected = new Uint8Array(sensors);
    this.answered = { connect: this.connected, register: new Uint8Array(sensors), subscribe: new Uint8Array(sensors) };
    this.topicIds = new Uint16Array(sensors);
    sockets.forEach((socket, s) => socket.on('message', (frame: Buffer) => this.onFrame(s, frame)));
  }

  static async open(sensors: number, forwarders: number, gatewayPort: number, clientIdPrefix: string): Promise<SensorCrowd> {
    const socketCount = forwarders > 0 ? forwarders : sensors;
    const sockets: dgram.Socket[] = [];
    for (let i = 0; i < socketCount; i += GROUP) {
      const group = Array.from({ length: Math.min(GROUP, socketCount - i) }, () => bindLoopback());
      sockets.push(...(await Promise.all(group)));
    }
    const perSocket = forwarders > 0 ? Math.ceil(sensors / forwarders) : 1;
    return new SensorCrowd(sockets, sensors, perSocket, forwarders > 0, gatewayPort, clientIdPrefix);
  }

  get socketCount(): number {
    return this.sockets.length;
  }

  get connectedCount(): number {
    let n = 0;
    for (const c of this.connected) n += c;
    return n;
  }

  /** CONNECTs every sensor (keep-alive long enough not to expire during the measurement). */
  connectAll(keepAliveSeconds: number): Promise<void> {
    return this.requestAll('connect', (i) => ({ type: 'CONNECT', will: false, cleanSession: true, duration: keepAliveSeconds, clientId: `${this.clientIdPrefix}-${i}` }));
  }

  /** Each sensor REGISTERs its own topic `crowd/<prefix>/<i>` (§6.5). */
  registerAll(): Promise<void> {
    return this.requestAll('register', (i) => ({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `crowd/${this.clientIdPrefix}/${i}` }));
  }

  /** Each sensor SUBSCRIBEs to its own topic `crowd/<prefix>/<i>/in` at QoS 0 (§6.9). */
  subscribeAll(): Promise<void> {
    return this.requestAll('subscribe', (i) => ({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 2, topic: { topicIdType: 'normal', topicName: `crowd/${this.clientIdPrefix}/${i}/in` } }));
  }

  /** QoS 0 PUBLISHes on each sensor's registered topic, `count` of them, round-robin from sensor `from`; returns the next sensor. */
  publishSome(from: number, count: number, payload: Buffer, port = this.gatewayPort): number {
    let i = from;
    for (let k = 0; k < count; k++) {
      if (this.answered.register[i]) {
        this.sendTo(i, { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId: this.topicIds[i], msgId: 0, payload }, port);
        this.sent++;
      }
      i = i + 1 === this.sensors ? 0 : i + 1;
    }
    return i;
  }

  /** Sends one request per sensor in groups, resending the unanswered ones each round. */
  private async requestAll(step: Step, build: (sensor: number) => SnMessage): Promise<void> {
    const done = this.answered[step];
    for (let first = 0; first < this.sensors; first += GROUP) {
      const last = Math.min(first + GROUP, this.sensors);
      for (let round = 0; round < ROUNDS; round++) {
        let missing = 0;
        for (let i = first; i < last; i++) {
          if (done[i]) continue;
          missing++;
          if (round > 0) this.resent++;
          this.sendTo(i, build(i));
        }
        if (missing === 0) break;
        const deadline = Date.now() + ROUND_MS;
        while (Date.now() < deadline && !groupDone(done, first, last)) await sleep(2);
      }
      if (!groupDone(done, first, last)) throw new Error(`sensors ${first}..${last - 1}: no answer to ${step} after ${ROUNDS} rounds`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  private sendTo(sensor: number, message: SnMessage, port = this.gatewayPort): void {
    const socketIndex = Math.floor(sensor / this.perSocket);
    const frame = this.forwarding
      ? encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodeIdOf(sensor % this.perSocket), message })
      : encode(message);
    this.sockets[socketIndex].send(frame, port, '127.0.0.1');
  }

  private onFrame(socketIndex: number, frame: Buffer): void {
    let message = decode(frame);
    let node = 0;
    if (message.type === 'ENCAPSULATED') {
      node = message.wirelessNodeId.readUInt16BE(0);
      message = message.message;
    }
    const sensor = socketIndex * this.perSocket + node;
    const step: Step | undefined = message.type === 'CONNACK' ? 'connect' : message.type === 'REGACK' ? 'register' : message.type === 'SUBACK' ? 'subscribe' : undefined;
    if (!step || !('returnCode' in message) || this.answered[step][sensor]) return;
    if (message.returnCode !== 0) {
      this.refused++;
      return;
    }
    this.answered[step][sensor] = 1;
    if (message.type === 'REGACK') this.topicIds[sensor] = message.topicId;
  }
}

function groupDone(done: Uint8Array, first: number, last: number): boolean {
  for (let i = first; i < last; i++) if (!done[i]) return false;
  return true;
}

function nodeIdOf(node: number): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(node);
  return id;
}

function bindLoopback(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
