/**
 * SnUdpPeer: one MQTT-SN endpoint on a real UDP socket, talking to one gateway.
 * It encodes what it sends, decodes what it receives, and queues the received messages so a test can
 * check the exact sequence a gateway produces (`await peer.expect('CONNACK')`). MqttSnClient builds on it.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatUdpAddress } from '../common/udp-address.js';
import { decode, encode, SnCodecError } from '../sn-codec/index.js';
import type { DecodeOptions, SnMessage, SnMessageOf, SnMessageType } from '../sn-codec/index.js';
import { formatMessage, hex } from './format.js';

export interface SnUdpPeerOptions {
  /** The gateway's UDP endpoint. Default 127.0.0.1:10000. A host name is resolved once, at open. */
  gateway?: { host?: string; port?: number };
  /** Local address to bind; default the loopback of the gateway's family when the gateway is on loopback, else every interface. */
  bindHost?: string;
  /** Local port; default 0 (any free port). */
  bindPort?: number;
  /**
   * Forwarder mode (§5.5): every frame sent is wrapped in ENCAPSULATED with this Wireless Node Id,
   * and replies must come back encapsulated for the same node; they are queued unwrapped.
   */
  forwarder?: { wirelessNodeId: Buffer; radius?: number };
  /** Passed to decode(); e.g. a longer maxClientIdLength. */
  decodeOptions?: DecodeOptions;
  /** Keep `received` and `sent` logs (default true; a long-running subscriber turns this off). */
  keepLog?: boolean;
  /** Called for every frame on the wire (after wrapping / before unwrapping); the CLI's -d uses it. */
  onFrame?: (direction: 'sent' | 'received', frame: Buffer, message: SnMessage | Error) => void;
}

/** What the queue holds: a decoded message, or why a datagram could not be one. */
type Arrival = { message: SnMessage } | { error: Error };

interface Waiter {
  resolve(arrival: Arrival): void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_GATEWAY_PORT = 10_000;
/** Generous: a wait ends as soon as the message arrives, so only a failure costs the full time (busy machines are slow). */
const DEFAULT_TIMEOUT_MS = 10_000;

export class SnUdpPeer {
  /** Every message received, decoded (unwrapped in forwarder mode), in order. */
  readonly received: SnMessage[] = [];
  /** Every message sent with send()/sendTo(), in order (raw frames are not here). */
  readonly sent: SnMessage[] = [];
  /** When set, received messages go to this function instead of the queue (MqttSnClient uses it). */
  handler: ((message: SnMessage) => void) | undefined;
  /** With a handler set, undecodable datagrams and socket errors go here (or are dropped) instead of the queue. */
  errorHandler: ((error: Error) => void) | undefined;

  /** Where the last datagram came from; reply() answers there (a fake gateway's way to answer any client). */
  lastSender: { host: string; port: number } | undefined;

  private readonly queue: Arrival[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;
  /** Datagrams handed to the socket whose send has not completed; close() waits for them. */
  private sending = 0;
  private flushed: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    /** The gateway's resolved endpoint. */
    readonly gateway: { host: string; port: number },
    private readonly options: SnUdpPeerOptions,
  ) {
    socket.on('message', (frame, rinfo) => this.onDatagram(frame, rinfo));
    socket.on('error', (err) => this.arrive({ error: err }));
  }

  /** Binds a socket and resolves the gateway address. */
  static async open(options: SnUdpPeerOptions = {}): Promise<SnUdpPeer> {
    const gatewayHost = options.gateway?.host ?? '127.0.0.1';
    const gatewayPort = options.gateway?.port ?? DEFAULT_GATEWAY_PORT;
    const host = isIP(gatewayHost) ? gatewayHost : await resolveHost(gatewayHost);
    const v6 = isIP(host) === 6;
    const loopback = v6 ? host === '::1' : host.startsWith('127.');
    const bindHost = options.bindHost ?? (loopback ? (v6 ? '::1' : '127.0.0.1') : undefined);
    const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.bindPort ?? 0, bindHost, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new SnUdpPeer(socket, { host, port: gatewayPort }, options);
  }

  /** The local port. */
  get port(): number {
    return this.socket.address().port;
  }

  /** This peer as the gateway's UDP radio names it, e.g. `udp:127.0.0.1:50123`. */
  get localAddress(): string {
    const { address, port } = this.socket.address();
    return formatUdpAddress(address, port);
  }

  /** Encodes and sends one message to the gateway (wrapped in ENCAPSULATED in forwarder mode). */
  send(message: SnMessage): void {
    this.sendTo(message, this.gateway);
  }

  /** Sends one message somewhere else, e.g. SEARCHGW to a loopback broadcast address. */
  sendTo(message: SnMessage, to: { host: string; port: number }): void {
    const forwarder = this.options.forwarder;
    const wire: SnMessage = forwarder
      ? { type: 'ENCAPSULATED', radius: forwarder.radius ?? 0, wirelessNodeId: forwarder.wirelessNodeId, message }
      : message;
    const frame = encode(wire);
    if (this.options.keepLog !== false) this.sent.push(message);
    this.options.onFrame?.('sent', frame, wire);
    this.transmit(frame, to);
  }

  /** Sends one message back to whoever sent the last datagram. */
  reply(message: SnMessage): void {
    if (!this.lastSender) throw new Error('reply(): nothing received yet');
    this.sendTo(message, this.lastSender);
  }

  /** Sends these exact bytes to the gateway: no encoding, no wrapping. For malformed-frame tests. */
  sendRaw(frame: Buffer): void {
    this.options.onFrame?.('sent', frame, new Error('raw frame'));
    this.transmit(frame, this.gateway);
  }

  /** The next received message (queued ones first). Rejects after timeoutMs, or for an undecodable datagram. */
  next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SnMessage> {
    return this.nextArrival(timeoutMs).then((arrival) => {
      if ('error' in arrival) throw arrival.error;
      return arrival.message;
    });
  }

  /** The next message, which must be of this type; otherwise rejects showing what came instead. */
  async expect<T extends SnMessageType>(type: T, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SnMessageOf<T>> {
    const arrival = await this.nextArrival(timeoutMs);
    if ('error' in arrival) throw new Error(`expected ${type}, got an error: ${arrival.error.message}`);
    if (arrival.message.type !== type) throw new Error(`expected ${type}, got ${formatMessage(arrival.message)}`);
    return arrival.message as SnMessageOf<T>;
  }

  /** Resolves if nothing arrives for `ms`; rejects with what arrived otherwise. Queued messages count as arrived. */
  async expectSilence(ms: number): Promise<void> {
    const arrival = await this.nextArrival(ms).catch(() => undefined);
    if (arrival === undefined) return;
    throw new Error(`expected silence, got ${'error' in arrival ? arrival.error.message : formatMessage(arrival.message)}`);
  }

  /** Removes and returns every queued message (errors dropped). */
  drain(): SnMessage[] {
    const messages: SnMessage[] = [];
    for (const arrival of this.queue.splice(0)) if ('message' in arrival) messages.push(arrival.message);
    return messages;
  }

  /** Resolves once every datagram sent so far has left the socket. */
  flush(): Promise<void> {
    if (this.sending === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushed.push(resolve));
  }

  /** Sends what is pending, then closes the socket; pending next()/expect() calls reject. */
  close(): Promise<void> {
    this.closing ??= this.flush().then(() => {
      this.closed = true;
      for (const waiter of this.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve({ error: new Error('peer closed') });
      }
      return new Promise<void>((resolve) => this.socket.close(() => resolve()));
    });
    return this.closing;
  }

  private transmit(frame: Buffer, to: { host: string; port: number }): void {
    if (this.closed) throw new Error('peer closed');
    this.sending++;
    this.socket.send(frame, to.port, to.host, (err) => {
      if (--this.sending === 0) for (const resolve of this.flushed.splice(0)) resolve();
      if (err) this.arrive({ error: new Error(`send to ${to.host}:${to.port} failed: ${err.message}`) });
    });
  }

  private nextArrival(timeoutMs: number): Promise<Arrival> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error('peer closed'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          const last = this.received.at(-1);
          reject(new Error(`no message within ${timeoutMs} ms${last ? ` (last received: ${formatMessage(last)})` : ''}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private onDatagram(frame: Buffer, rinfo: dgram.RemoteInfo): void {
    this.lastSender = { host: rinfo.address, port: rinfo.port };
    let message: SnMessage;
    try {
      message = decode(frame, this.options.decodeOptions);
    } catch (err) {
      const reason = err instanceof SnCodecError ? `${err.reason}: ${err.message}` : String(err);
      const error = new Error(`undecodable frame ${hex(frame)} from ${rinfo.address}:${rinfo.port} (${reason})`);
      this.options.onFrame?.('received', frame, error);
      this.arrive({ error });
      return;
    }
    this.options.onFrame?.('received', frame, message);
    const unwrapped = this.unwrap(message);
    if ('error' in unwrapped) {
      this.arrive(unwrapped);
      return;
    }
    if (this.options.keepLog !== false) this.received.push(unwrapped.message);
    if (this.handler) this.handler(unwrapped.message);
    else this.arrive(unwrapped);
  }

  /** In forwarder mode the gateway must answer encapsulated, for our node (§5.5). */
  private unwrap(message: SnMessage): Arrival {
    const forwarder = this.options.forwarder;
    if (!forwarder) return { message };
    if (message.type !== 'ENCAPSULATED') {
      return { error: new Error(`forwarder expected ENCAPSULATED, got ${formatMessage(message)}`) };
    }
    if (!message.wirelessNodeId.equals(forwarder.wirelessNodeId)) {
      return { error: new Error(`ENCAPSULATED for node ${hex(message.wirelessNodeId)}, expected ${hex(forwarder.wirelessNodeId)}`) };
    }
    return { message: message.message };
  }

  private arrive(arrival: Arrival): void {
    if (this.handler && 'error' in arrival) {
      this.errorHandler?.(arrival.error);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(arrival);
    } else {
      this.queue.push(arrival);
    }
  }
}

/** IPv4 first: the gateway listens on 127.0.0.1 by default, and "localhost" may resolve to ::1 first. */
async function resolveHost(name: string): Promise<string> {
  try {
    return (await lookup(name, { verbatim: false })).address;
  } catch (err) {
    throw new Error(`cannot resolve gateway host "${name}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
