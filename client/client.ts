/**
 * MqttSnClient: an MQTT-SN 1.2 client over UDP, the "real sensor" of the end-to-end tests and of the `mqtt-sn` CLI.
 * It runs the client side of every flow: the will handshake (§6.2), REGISTER (§6.5), PUBLISH at QoS -1..2
 * (§6.6, §6.8), SUBSCRIBE/UNSUBSCRIBE (§6.9), the gateway's PUBLISH and REGISTER (§6.10, §6.5),
 * keep-alive (§6.11), retransmission (§6.13) and sleep (§6.14).
 */
import { EventEmitter } from 'node:events';
import { shortTopicId, shortTopicName } from '../sn-codec/index.js';
import type {
  ConnackMessage, DisconnectMessage, PubackMessage, PublishMessage, PubrecMessage, QoS, ReturnCode,
  SnMessage, SnMessageOf, SnMessageType, TopicIdType, TopicRef, WillMsgReqMessage, WillTopicReqMessage,
} from '../sn-codec/index.js';
import { formatMessage } from './format.js';
import { SnUdpPeer, type SnUdpPeerOptions } from './udp-peer.js';

export interface MqttSnClientOptions extends SnUdpPeerOptions {
  /** Predefined topic ids this client knows (§6.7): id → topic name, for naming incoming messages. */
  predefined?: Map<number, string> | Record<number, string>;
  /** Milliseconds before an unanswered request is resent (§6.13 T_RETRY). Default 10 000. */
  retryInterval?: number;
  /** Resends before a request fails (§6.13 N_RETRY). Default 3. */
  retryCount?: number;
  /** Send PINGREQ on its own every keep-alive period while connected (§6.11). Default false (tests see only what they cause). */
  autoPing?: boolean;
}

export interface WillOptions {
  topic: string;
  message: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface ConnectOptions {
  clientId: string;
  /** Keep-alive Duration in seconds (§5.4.4). Default 60. */
  keepAlive?: number;
  /** Default true. */
  cleanSession?: boolean;
  will?: WillOptions;
}

/** A topic to publish or subscribe to: a name, a predefined id (§6.7), a two-character short name, or an already registered id. */
export type TopicSpec = string | { predefinedId: number } | { shortName: string } | { topicId: number };

export interface PublishOptions {
  /** -1 publishes without a connection (§6.8): predefined ids and short names only. Default 0. */
  qos?: QoS;
  retain?: boolean;
}

export interface SubscribeResult {
  /** The topic id the gateway assigned (0 for a wildcard name, §6.9). */
  topicId: number;
  /** Granted QoS. */
  qos: QoS;
}

/** A PUBLISH from the gateway, with its topic name resolved where the client knows it. */
export interface ReceivedMessage {
  /** The topic name; undefined for an id this client has no name for. */
  topic: string | undefined;
  topicIdType: TopicIdType;
  topicId: number;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  msgId: number;
}

/** The gateway answered with a return code other than Accepted (§5.3.10). */
export class SnRejectedError extends Error {
  constructor(readonly returnCode: ReturnCode, readonly reply: SnMessage, what: string) {
    super(`${what} rejected: return code 0x${returnCode.toString(16).padStart(2, '0')} (${returnCodeName(returnCode)})`);
    this.name = 'SnRejectedError';
  }
}

/** No answer after every retransmission (§6.13). */
export class SnTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnTimeoutError';
  }
}

export interface MqttSnClientEvents {
  /** A PUBLISH from the gateway (emitted once, even for a retransmitted QoS 2 PUBLISH). */
  message: [ReceivedMessage];
  /** A DISCONNECT the client did not ask for: the gateway dropped the session. */
  disconnect: [DisconnectMessage];
  /** Automatic keep-alive failed: no PINGRESP after every retry. */
  lost: [Error];
  /** Every message received, before the client acts on it. */
  sn: [SnMessage];
  /** A datagram that did not decode, or a socket error. */
  error: [Error];
}

interface Waiter {
  match(message: SnMessage): boolean;
  resolve(message: SnMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const RETURN_CODE_NAMES = ['accepted', 'rejected: congestion', 'rejected: invalid topic ID', 'rejected: not supported'];
function returnCodeName(code: number): string {
  return RETURN_CODE_NAMES[code] ?? 'unknown';
}

/** A reply predicate; `awaited` names the reply in timeout errors. */
type Matcher<R extends SnMessage> = ((m: SnMessage) => m is R) & { awaited?: string };

/** Matches the reply of this type (and MsgId, when given). */
function answer<T extends SnMessageType>(type: T, msgId?: number): Matcher<SnMessageOf<T>> {
  const match = (m: SnMessage): m is SnMessageOf<T> =>
    m.type === type && (msgId === undefined || (m as { msgId?: number }).msgId === msgId);
  return Object.assign(match, { awaited: type as string });
}

/** What may answer CONNECT (§6.2). */
function isConnectStep(m: SnMessage): m is ConnackMessage | WillTopicReqMessage | WillMsgReqMessage {
  return m.type === 'CONNACK' || m.type === 'WILLTOPICREQ' || m.type === 'WILLMSGREQ';
}

function hasWildcard(topic: string): boolean {
  return topic.includes('#') || topic.includes('+');
}

export class MqttSnClient extends EventEmitter<MqttSnClientEvents> {
  readonly peer: SnUdpPeer;
  /** True between CONNACK accepted and DISCONNECT / sleep. */
  connected = false;
  clientId: string | undefined;

  private readonly retryInterval: number;
  private readonly retryCount: number;
  private readonly autoPing: boolean;
  private readonly predefined: Map<number, string>;
  /** Normal topic ids learned from REGACK, SUBACK and the gateway's REGISTER (§6.5): both directions. */
  private readonly topicIds = new Map<string, number>();
  private readonly topicNames = new Map<number, string>();
  /** QoS 2 PUBLISHes from the gateway awaiting PUBREL, by MsgId: a resent PUBLISH is not delivered twice. */
  private readonly inboundQos2 = new Set<number>();
  private waiters: Waiter[] = [];
  private lastMsgId = 0;
  private keepAlive = 60;
  private pingTimer: NodeJS.Timeout | undefined;
  /** While wake() runs: the messages the gateway flushes before PINGRESP (§6.14). */
  private collecting: ReceivedMessage[] | undefined;

  constructor(peer: SnUdpPeer, options: MqttSnClientOptions = {}) {
    super();
    this.peer = peer;
    this.retryInterval = options.retryInterval ?? 10_000;
    this.retryCount = options.retryCount ?? 3;
    this.autoPing = options.autoPing ?? false;
    const predefined = options.predefined ?? new Map<number, string>();
    this.predefined = predefined instanceof Map
      ? predefined
      : new Map(Object.entries(predefined).map(([id, name]) => [Number(id), name]));
    peer.handler = (message) => this.onMessage(message);
    peer.errorHandler = (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    };
  }

  /** Opens a UDP peer to the gateway and wraps it in a client. */
  static async open(options: MqttSnClientOptions = {}): Promise<MqttSnClient> {
    return new MqttSnClient(await SnUdpPeer.open(options), options);
  }

  /** §6.2 CONNECT, answering WILLTOPICREQ / WILLMSGREQ from `will`. Rejects with SnRejectedError for a CONNACK other than Accepted. */
  async connect(options: ConnectOptions): Promise<void> {
    const { clientId, keepAlive = 60, cleanSession = true, will } = options;
    const connect: SnMessage = { type: 'CONNECT', will: will !== undefined, cleanSession, duration: keepAlive, clientId };
    if (cleanSession) this.forgetTopics(); // §6.3: a clean session starts with no registrations
    let lastSent: SnMessage = connect;
    for (let attempt = 0; ; ) {
      const reply = this.waitFor(isConnectStep, this.retryInterval);
      this.peer.send(lastSent);
      let message: SnMessage;
      try {
        message = await reply;
      } catch (err) {
        if (!(err instanceof SnTimeoutError) || ++attempt > this.retryCount) throw this.timeoutFor('CONNACK', err);
        continue; // resend what the gateway has not answered
      }
      attempt = 0;
      if (message.type === 'WILLTOPICREQ') {
        lastSent = will
          ? { type: 'WILLTOPIC', qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic }
          : { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' };
      } else if (message.type === 'WILLMSGREQ') {
        lastSent = { type: 'WILLMSG', willMsg: Buffer.from(will?.message ?? '') };
      } else if (message.type === 'CONNACK') {
        if (message.returnCode !== 0) throw new SnRejectedError(message.returnCode, message, 'CONNECT');
        this.connected = true;
        this.clientId = clientId;
        this.keepAlive = keepAlive;
        this.startPinging();
        return;
      }
    }
  }

  /** §6.5 REGISTER a topic name; resolves with the gateway's topic id. */
  async register(topicName: string): Promise<number> {
    const msgId = this.nextMsgId();
    const reply = await this.request({ type: 'REGISTER', topicId: 0, msgId, topicName }, answer('REGACK', msgId));
    if (reply.returnCode !== 0) throw new SnRejectedError(reply.returnCode, reply, `REGISTER ${topicName}`);
    this.learnTopic(topicName, reply.topicId);
    return reply.topicId;
  }

  /**
   * PUBLISH (§6.6): registers a normal name first if needed, then runs the QoS flow to its end
   * (PUBACK for 1, PUBREC/PUBREL/PUBCOMP for 2). A PUBACK "invalid topic ID" for a name makes it re-register once.
   */
  async publish(topic: TopicSpec, payload: string | Buffer | Uint8Array, options: PublishOptions = {}): Promise<void> {
    const qos = options.qos ?? 0;
    const retain = options.retain ?? false;
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    if (qos === -1 && (typeof topic === 'string' || 'topicId' in topic)) {
      throw new Error('QoS -1 needs a predefined topic id or a short topic name (§6.8)');
    }
    for (let reRegistered = false; ; reRegistered = true) {
      const { topicIdType, topicId } = await this.publishTopic(topic);
      const msgId = qos === 1 || qos === 2 ? this.nextMsgId() : 0;
      const publish: PublishMessage = { type: 'PUBLISH', dup: false, qos, retain, topicIdType, topicId, msgId, payload: data };
      if (qos <= 0) {
        this.peer.send(publish);
        return;
      }
      // A QoS 2 PUBLISH is answered by PUBREC, or refused by PUBACK with a return code.
      const isAck = (m: SnMessage): m is PubackMessage | PubrecMessage => (m.type === 'PUBACK' || (qos === 2 && m.type === 'PUBREC')) && m.msgId === msgId;
      const ack = await this.request(publish, isAck, qos === 1 ? 'PUBACK' : 'PUBREC');
      if (ack.type === 'PUBACK') {
        if (ack.returnCode === 0x02 && typeof topic === 'string' && !reRegistered) {
          this.forgetTopic(topic); // §6.6: the gateway lost the id; register again and resend once
          continue;
        }
        if (ack.returnCode !== 0) throw new SnRejectedError(ack.returnCode, ack, 'PUBLISH');
        if (qos === 1) return;
        throw new Error(`QoS 2 PUBLISH answered by ${formatMessage(ack)}`);
      }
      await this.request({ type: 'PUBREL', msgId }, answer('PUBCOMP', msgId));
      return;
    }
  }

  /** §6.9 SUBSCRIBE; rejects with SnRejectedError when SUBACK refuses. */
  async subscribe(topic: TopicSpec, qos: 0 | 1 | 2 = 0): Promise<SubscribeResult> {
    const msgId = this.nextMsgId();
    const ref = this.topicRef(topic);
    const reply = await this.request({ type: 'SUBSCRIBE', dup: false, qos, msgId, topic: ref }, answer('SUBACK', msgId));
    if (reply.returnCode !== 0) throw new SnRejectedError(reply.returnCode, reply, 'SUBSCRIBE');
    if (typeof topic === 'string' && !hasWildcard(topic) && reply.topicId !== 0) this.learnTopic(topic, reply.topicId);
    return { topicId: reply.topicId, qos: reply.qos };
  }

  /** §6.9 UNSUBSCRIBE. */
  async unsubscribe(topic: TopicSpec): Promise<void> {
    const msgId = this.nextMsgId();
    await this.request({ type: 'UNSUBSCRIBE', msgId, topic: this.topicRef(topic) }, answer('UNSUBACK', msgId));
  }

  /** §6.11 PINGREQ → PINGRESP. */
  async ping(): Promise<void> {
    await this.request({ type: 'PINGREQ' }, answer('PINGRESP'));
  }

  /** §6.4 WILLTOPICUPD; an empty topic deletes the will. Resolves with the WILLTOPICRESP return code. */
  async updateWillTopic(topic: string, qos: 0 | 1 | 2 = 0, retain = false): Promise<ReturnCode> {
    const reply = await this.request({ type: 'WILLTOPICUPD', qos, retain, willTopic: topic }, answer('WILLTOPICRESP'));
    return reply.returnCode;
  }

  /** §6.4 WILLMSGUPD. Resolves with the WILLMSGRESP return code. */
  async updateWillMessage(message: string | Buffer): Promise<ReturnCode> {
    const reply = await this.request({ type: 'WILLMSGUPD', willMsg: Buffer.from(message) }, answer('WILLMSGRESP'));
    return reply.returnCode;
  }

  /** §6.14 DISCONNECT with a Duration: the client sleeps; the gateway buffers its messages. */
  async sleep(durationSeconds: number): Promise<void> {
    this.stopPinging();
    await this.request({ type: 'DISCONNECT', duration: durationSeconds }, answer('DISCONNECT'));
    this.connected = false;
  }

  /**
   * §6.14 wake-up: PINGREQ with the ClientId; the gateway sends what it buffered, then PINGRESP.
   * Resolves with the messages received in between (each also emitted as 'message'). The client sleeps again after.
   */
  async wake(): Promise<ReceivedMessage[]> {
    if (this.clientId === undefined) throw new Error('wake() needs a client that connected before sleeping');
    const collected: ReceivedMessage[] = [];
    this.collecting = collected;
    try {
      await this.request({ type: 'PINGREQ', clientId: this.clientId }, answer('PINGRESP'));
    } finally {
      this.collecting = undefined;
    }
    return collected;
  }

  /** §6.12 DISCONNECT → DISCONNECT. */
  async disconnect(): Promise<void> {
    this.stopPinging();
    await this.request({ type: 'DISCONNECT' }, answer('DISCONNECT'));
    this.connected = false;
  }

  /** Closes the socket without telling the gateway (a sensor losing power). */
  async close(): Promise<void> {
    this.stopPinging();
    this.connected = false;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('client closed'));
    }
    await this.peer.close();
  }

  /** The normal topic id the client holds for a name, if any. */
  topicIdOf(topicName: string): number | undefined {
    return this.topicIds.get(topicName);
  }

  /** The name the client holds for a normal topic id, if any. */
  topicNameOf(topicId: number): string | undefined {
    return this.topicNames.get(topicId);
  }

  private onMessage(message: SnMessage): void {
    this.emit('sn', message);
    switch (message.type) {
      case 'PUBLISH':
        this.onPublish(message);
        return;
      case 'REGISTER':
        // §6.5: the gateway names a topic before publishing on it (wildcard subscriptions).
        this.learnTopic(message.topicName, message.topicId);
        this.peer.send({ type: 'REGACK', topicId: message.topicId, msgId: message.msgId, returnCode: 0 });
        return;
      case 'PUBREL':
        this.inboundQos2.delete(message.msgId);
        this.peer.send({ type: 'PUBCOMP', msgId: message.msgId });
        return;
      case 'PINGREQ':
        this.peer.send({ type: 'PINGRESP' });
        return;
    }
    const index = this.waiters.findIndex((w) => w.match(message));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
      return;
    }
    if (message.type === 'DISCONNECT') {
      this.connected = false;
      this.stopPinging();
      this.emit('disconnect', message);
    }
  }

  /** §6.10: the gateway's PUBLISH, acknowledged per its QoS. */
  private onPublish(publish: PublishMessage): void {
    const topic = this.topicNameFor(publish.topicIdType, publish.topicId);
    if (publish.qos === 1 || publish.qos === 2) {
      if (topic === undefined && publish.topicIdType === 'normal') {
        this.peer.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0x02 });
        return;
      }
      if (publish.qos === 1) {
        this.peer.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
      } else {
        this.peer.send({ type: 'PUBREC', msgId: publish.msgId });
        if (this.inboundQos2.has(publish.msgId)) return; // already delivered; PUBREL pending
        this.inboundQos2.add(publish.msgId);
      }
    }
    const received: ReceivedMessage = {
      topic,
      topicIdType: publish.topicIdType,
      topicId: publish.topicId,
      payload: Buffer.from(publish.payload), // the decoded payload may be a view on the datagram
      qos: publish.qos,
      retain: publish.retain,
      dup: publish.dup,
      msgId: publish.msgId,
    };
    this.collecting?.push(received);
    this.emit('message', received);
  }

  private topicNameFor(topicIdType: TopicIdType, topicId: number): string | undefined {
    switch (topicIdType) {
      case 'normal': return this.topicNames.get(topicId);
      case 'predefined': return this.predefined.get(topicId);
      case 'short': return shortTopicName(topicId);
    }
  }

  private async publishTopic(topic: TopicSpec): Promise<{ topicIdType: TopicIdType; topicId: number }> {
    if (typeof topic === 'string') {
      return { topicIdType: 'normal', topicId: this.topicIds.get(topic) ?? (await this.register(topic)) };
    }
    if ('predefinedId' in topic) return { topicIdType: 'predefined', topicId: topic.predefinedId };
    if ('shortName' in topic) return { topicIdType: 'short', topicId: shortTopicId(topic.shortName) };
    return { topicIdType: 'normal', topicId: topic.topicId };
  }

  private topicRef(topic: TopicSpec): TopicRef {
    if (typeof topic === 'string') return { topicIdType: 'normal', topicName: topic };
    if ('predefinedId' in topic) return { topicIdType: 'predefined', topicId: topic.predefinedId };
    if ('shortName' in topic) return { topicIdType: 'short', topicId: shortTopicId(topic.shortName) };
    const name = this.topicNames.get(topic.topicId);
    if (name === undefined) throw new Error(`no topic name known for topic id ${topic.topicId}`);
    return { topicIdType: 'normal', topicName: name };
  }

  /** Sends, then resends every retryInterval (DUP set where the message has it, §6.13) until `match` arrives. */
  private async request<R extends SnMessage>(message: SnMessage, match: Matcher<R>, awaited = match.awaited ?? 'answer'): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const reply = this.waitFor(match, this.retryInterval);
      this.peer.send(attempt === 0 ? message : withDup(message));
      try {
        return await reply;
      } catch (err) {
        if (!(err instanceof SnTimeoutError) || attempt >= this.retryCount) throw this.timeoutFor(awaited, err);
      }
    }
  }

  private waitFor<R extends SnMessage>(match: (m: SnMessage) => m is R, timeoutMs: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => resolve(m as R), // only messages that passed `match` get here
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new SnTimeoutError(`no answer within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private timeoutFor(awaited: string, err: unknown): Error {
    if (!(err instanceof SnTimeoutError)) return err as Error;
    return new SnTimeoutError(`no ${awaited} from the gateway after ${this.retryCount + 1} attempts, ${this.retryInterval} ms apart`);
  }

  private nextMsgId(): number {
    this.lastMsgId = this.lastMsgId >= 0xffff ? 1 : this.lastMsgId + 1;
    return this.lastMsgId;
  }

  private learnTopic(name: string, topicId: number): void {
    this.topicIds.set(name, topicId);
    this.topicNames.set(topicId, name);
  }

  private forgetTopic(name: string): void {
    const topicId = this.topicIds.get(name);
    this.topicIds.delete(name);
    if (topicId !== undefined) this.topicNames.delete(topicId);
  }

  private forgetTopics(): void {
    this.topicIds.clear();
    this.topicNames.clear();
  }

  private startPinging(): void {
    this.stopPinging();
    if (!this.autoPing || this.keepAlive <= 0) return;
    this.pingTimer = setInterval(() => {
      this.ping().catch((err: Error) => {
        this.stopPinging();
        this.connected = false;
        this.emit('lost', err);
      });
    }, this.keepAlive * 1000);
    this.pingTimer.unref();
  }

  private stopPinging(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}

/** The retransmitted form of a message: PUBLISH and SUBSCRIBE carry DUP (§5.3.4). */
function withDup(message: SnMessage): SnMessage {
  return message.type === 'PUBLISH' || message.type === 'SUBSCRIBE' ? { ...message, dup: true } : message;
}
