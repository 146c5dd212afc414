/**
 * The gateway core: a state machine driven by three kinds of events — a frame arrived (`frame`),
 * a timer fired (`sweep`, `advertise`), the broker delivered (`brokerMessage`). Time comes from an
 * injectable clock. Message handling lives in handlers/, one file per message type; this file holds
 * the state they share and the flows that span several messages (delivery, retries, sleep, wills).
 */
import { EventEmitter } from 'node:events';
import { decoderFor, encode, shortTopicName, SnCodecError } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import type { LogLevel, Radio, RadioSink } from '../../radios/radio.js';
import type { Clock, TimerHandle } from './clock.js';
import { DeadlineHeap } from './deadline-heap.js';
import type { GatewaySection, LimitsSection, TopicsSection } from '../config/config-types.js';
import { RateLimiter } from './rate-limiter.js';
import { AnswerLimit } from './answer-limit.js';
import { FrameCounts, type FrameDirection } from './frame-counts.js';
import { dispatch } from './handlers/index.js';
import { forwardToBroker } from './handlers/publish.js';
import { stripTrailingNul } from './lenient-input.js';
import { SessionPersistence } from './persistence.js';
import { readRecord, RecordError } from './session-record.js';
import type { SessionStore } from '../store/store.js';
import { PredefinedTopics } from './predefined-topics.js';
import {
  type ClientState, type Inflight, type Link, type OutboundMessage, type Session,
  addInflight, forgetRegistrations, forgetTopicId, isConnected, nextMsgId, NO_INFLIGHT, NO_MESSAGES, ownQueue, registerTopic,
} from './session.js';
import { SharedSubscriptions } from './shared-subscriptions.js';
import type { SubscriptionTree } from './subscription-tree.js';
import { isValidTopicName } from './topics.js';
import type { BrokerDelivery, BrokerQoS, PublishDone, Upstream, UpstreamSink } from '../broker/upstream.js';
import { BrokerSessions } from './broker-sessions.js';
import { addressKey, PeerIndex } from './peer-index.js';
import { allowEverything, type AccessPolicy, type Requester } from './access-policy.js';

/** Where a frame came from: the radio, the sender's address, and the forwarder's Wireless Node Id if any. */
export interface Peer {
  radio: Radio;
  address: string;
  nodeId: Buffer | undefined;
  /** address [| node id hex]: the key a session is found by on its radio (PeerIndex). */
  key: string;
}

export interface ClientInfo {
  clientId: string;
  state: ClientState;
  radio: string;
  address: string;
  nodeId: string | undefined;
  lastSeen: number;
  keepAlive: number;
  buffered: number;
  inflight: number;
  dropped: number;
  subscriptions: { filter: string; qos: number }[];
  hasWill: boolean;
}

export interface CoreStats {
  framesIn: number;
  framesOut: number;
  /** Frames that did not decode (§5): counted, logged with the sender, dropped. */
  malformed: number;
  /** Well-formed frames that make no sense in the sender's state (e.g. PUBLISH before CONNECT). */
  unexpected: number;
  /** Frames the radio could not carry (bigger than its maxFrameSize). */
  oversize: number;
  publishedToBroker: number;
  deliveredToClients: number;
  /** Broker messages dropped for a client: sleep buffer full, topic id refused, frame too large. */
  droppedForClients: number;
  /** Client PUBLISHes refused with congestion (outgoing queue full). */
  congestion: number;
  willsPublished: number;
  /** Messages to clients sent again after T_RETRY (§6.13): PUBLISH, PUBREL, REGISTER, WILLTOPICREQ, WILLMSGREQ. */
  retries: number;
  /** Frames whose handling threw: a bug, logged with its stack; the gateway carries on. */
  internalErrors: number;
  /** Name fields (ClientId, topic names, will topic) that arrived with one trailing NUL, stripped. */
  trailingNulStripped: number;
  /**
   * CONNECTs answered with a refusing CONNACK (bad ProtocolId or ClientId, invalid will topic, maxClients,
   * limits.maxConnecting, the access rules, the broker in transparent mode).
   */
  connectsRefused: number;
  /** DISCONNECTs sent to senders the gateway could not map to a session (§5.4.21). */
  unmappedDisconnects: number;
  /** ...and those not sent, because that sender had one less than a second ago (no amplification). */
  unmappedDisconnectsSuppressed: number;
  /** CONNECT, REGISTER, PUBLISH, SUBSCRIBE or a will refused by the access rules. */
  refused: number;
  /** Frames dropped unread because their sender exceeded its frame rate (flood limit). */
  rateLimited: number;
}

export interface CoreEvents {
  log: [level: LogLevel, message: string];
  clientState: [clientId: string, from: ClientState, to: ClientState];
  frameDropped: [radio: string, address: string, reason: string];
  messageBuffered: [clientId: string, topic: string];
  messageDropped: [clientId: string, topic: string, reason: string];
  /** A session was forgotten (an ended CleanSession=1 one, or a kept one expired): no longer in clients(). */
  clientForgotten: [clientId: string];
  /** The broker connection came up (true) or went away (false). */
  brokerConnection: [up: boolean];
  /** The access rules refused something; clientId is '' for a sender that never connected. */
  accessRefused: [clientId: string, radio: string, address: string, what: string];
}

/** Sees every decoded frame in and out (the daemon's -v); unset on the hot path unless asked for. */
export type FrameTrace = (direction: FrameDirection, radio: string, address: string, nodeId: string | undefined, message: SnMessage) => void;

export interface CoreOptions {
  gateway: GatewaySection;
  topics: TopicsSection;
  upstream: Upstream;
  clock: Clock;
  /** How often timers are checked (keep-alive, sleep, retries); one sweep for all clients. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Who may connect, publish and subscribe; default: everyone, everything. */
  access?: AccessPolicy;
  /** Flood limits; default: none (gateway.yaml's `limits:` gives the shipped ones). */
  limits?: Partial<LimitsSection>;
  /** Where sessions that outlive their connection are kept across restarts; none = memory only. */
  store?: SessionStore;
}

const NO_LIMITS: LimitsSection = {
  frameRate: 0, frameBurst: 1, maxConnecting: Infinity, maxTopicIdsPerClient: 0xfffe, maxSubscriptionsPerClient: Infinity,
};

/** How long an ended CleanSession=1 session stays visible in clients() before it is forgotten. */
export const ENDED_SESSION_KEPT_MS = 3_600_000;

/** Unmapped senders remembered for the DISCONNECT rate limit; beyond, new ones within the second get none. */
export const UNMAPPED_SENDERS_TRACKED = 10_000;


/** A client's address as topic templates see it: the radio address, `:<node id>` appended behind a forwarder. */
export function addressOf(link: Link): string {
  return link.nodeId === undefined ? link.address : `${link.address}:${link.nodeId}`;
}

/** A sender's address on its radio, for the per-address log and answer limits. */
function senderKey(radio: string, address: string): string {
  return radio + '|' + address;
}

/** Whether the session still has this broker message (same packet id, topic and payload) waiting or in flight. */
function holdsBrokerMessage(session: Session, brokerId: number, topic: string, payload: Buffer): boolean {
  const same = (m: OutboundMessage | undefined) => m !== undefined && m.brokerId === brokerId && m.topic === topic && m.payload.equals(payload);
  return session.queue.some(same) || (session.held?.some(same) ?? false) || session.inflight.some((f) => same(f.message));
}

/**
 * Whether handling this frame may change what the store keeps of its sender's session. PUBLISH marks
 * what it changes itself (most change nothing kept: the client holds its message until our answer);
 * a keep-alive PINGREQ and discovery change nothing.
 */
function changesSession(message: SnMessage): boolean {
  switch (message.type) {
    case 'PUBLISH': case 'SEARCHGW': case 'ADVERTISE': case 'GWINFO': return false;
    case 'PINGREQ': return message.clientId !== undefined;
    default: return true;
  }
}

export class GatewayCore {
  readonly events = new EventEmitter<CoreEvents>();
  readonly stats: CoreStats = {
    framesIn: 0, framesOut: 0, malformed: 0, unexpected: 0, oversize: 0, publishedToBroker: 0,
    deliveredToClients: 0, droppedForClients: 0, congestion: 0, willsPublished: 0, retries: 0, internalErrors: 0,
    trailingNulStripped: 0, connectsRefused: 0, unmappedDisconnects: 0, unmappedDisconnectsSuppressed: 0, refused: 0, rateLimited: 0,
  };
  /** Frames in and out by radio and message type (after §5.5 unwrapping). */
  readonly frameCounts = new FrameCounts();
  /** Set to see every decoded frame in and out. */
  frameTrace: FrameTrace | undefined;
  readonly config: GatewaySection;
  readonly clock: Clock;
  readonly upstream: Upstream;
  /** Predefined topic ids (§6.7); replaced as a whole when the configuration is reloaded. */
  predefined: PredefinedTopics;
  /** Who may do what; replaced as a whole when the configuration is reloaded. */
  access: AccessPolicy;
  readonly limits: LimitsSection;
  /** Per radio (by name), so a sender is found by its address string alone (no joined key per frame). */
  private readonly rateLimiters = new Map<string, RateLimiter>();
  /** Last time a rate-limited sender was logged: once a minute each. */
  private readonly limitedLoggedAt = new Map<string, number>();
  private connectingClients = 0;
  /** Transparent mode: each connected client's own broker session. */
  readonly brokerSessions = new BrokerSessions(this);
  readonly radios = new Map<string, Radio>();
  readonly sessionsByPeer = new PeerIndex();
  readonly sessionsById = new Map<string, Session>();
  readonly shared: SharedSubscriptions;
  /** Kept sessions written to the store, one transaction per event-loop turn. */
  readonly persistence: SessionPersistence;
  /** The broker subscriptions: one per filter, with the clients on it. */
  get subscriptions(): SubscriptionTree<Session> {
    return this.shared.tree;
  }
  private connectedClients = 0;
  private sweepTimer: TimerHandle | undefined;
  /** Sessions by when the timers next need to look at them; see schedule() and sweep(). */
  private readonly deadlines = new DeadlineHeap<Session>();
  /** Sessions the timers have looked at, ever: per-tick work is the growth of this, not the session count. */
  sessionsExamined = 0;
  private advertiseTimer: TimerHandle | undefined;
  private readonly sweepIntervalMs: number;
  private readonly decode: (frame: Buffer) => SnMessage;
  /** Last time a malformed frame from an address was logged, so a babbling sensor cannot flood the log. */
  private readonly malformedLoggedAt = new Map<string, number>();
  /** Last time a refused topic template was logged per client and id: a sensor publishing every second must not flood the log. */
  private readonly refusedLoggedAt = new Map<string, number>();
  /** Per client (or anonymous address): when its refusals were last logged, and how many since. */
  private readonly refusalsLogged = new Map<string, { at: number; since: number }>();
  /** One DISCONNECT per second per unmapped sender, for at most this many senders at once. */
  private readonly unmappedAnswers = new AnswerLimit(1000, UNMAPPED_SENDERS_TRACKED);

  /** What radios report to. */
  readonly radioSink: RadioSink = {
    frame: (radio, address, frame) => this.frame(radio, address, frame),
    log: (level, message) => this.log(level, message),
    deliveryFailed: (radio, address, reason) => this.log('debug', `${radio.name}: delivery to ${address} failed: ${reason}`),
  };

  /** What the upstream reports to. */
  readonly upstreamSink: UpstreamSink = {
    message: (topic, payload, qos, retain, delivery) => this.brokerMessage(topic, payload, qos, retain, delivery),
    connectionChanged: (up) => {
      if (up) this.shared.resubscribeAll(this.sessionsById.values());
      else {
        this.shared.connectionLost();
        // Client messages on their way to the broker are held now: keep them in the store too.
        if (this.persistence.enabled) {
          for (const s of this.sessionsById.values()) {
            if (s.incoming && [...s.incoming.values()].some((e) => e.message)) this.changed(s);
          }
        }
      }
      this.events.emit('brokerConnection', up);
    },
    log: (level, message) => this.log(level, message),
  };

  constructor(options: CoreOptions) {
    this.config = options.gateway;
    this.clock = options.clock;
    this.upstream = options.upstream;
    this.shared = new SharedSubscriptions(options.upstream);
    this.predefined = new PredefinedTopics(options.topics);
    this.access = options.access ?? allowEverything;
    this.limits = { ...NO_LIMITS, ...options.limits };
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    // ProtocolId and ClientId are the CONNECT handler's to check: it answers CONNACK 0x03 (§5.4.5).
    this.decode = decoderFor({ maxClientIdLength: options.gateway.maxClientIdLength, checkClientIdentity: false });
    this.persistence = new SessionPersistence(options.store, (s) => this.keeps(s), (level, message) => this.log(level, message));
  }

  /**
   * Sessions that outlive their connection are kept in the store: CleanSession=0 ones, and sleeping
   * clients (§6.14) whatever their CleanSession. Others' records are deleted.
   */
  private keeps(session: Session): boolean {
    if (this.sessionsById.get(session.clientId) !== session) return false;
    return !session.cleanSession || session.state === 'asleep' || session.state === 'awake';
  }

  /** The session changed in a way the store keeps: written at the end of this event-loop turn. */
  changed(session: Session): void {
    this.persistence.changed(session);
  }

  /** Written only if its stored record holds a client publish, so that the publish's end is stored too. */
  changedIfKept(session: Session): void {
    this.persistence.changedIfKept(session);
  }

  /**
   * Runs `fn` (an acknowledgement) once the changes made so far are committed; at once without a store;
   * `failed` instead if that commit fails.
   */
  afterCommit(fn: () => void, failed?: () => void): void {
    this.persistence.afterCommit(fn, failed);
  }

  /**
   * Sessions read back from the store at start-up, before start(). The gateway heard nothing while it
   * was down, so keep-alive and sleep deadlines start afresh now; a connection that was under way
   * (will handshake) is gone. Returns the records that could not be read, with why.
   */
  restore(records: Map<string, unknown>): { clientId: string; reason: string }[] {
    const unreadable: { clientId: string; reason: string }[] = [];
    const now = this.clock.now();
    for (const [clientId, raw] of records) {
      let session: Session;
      try {
        session = readRecord(clientId, raw);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        unreadable.push({ clientId, reason: err.message });
        continue;
      }
      this.persistence.restored(clientId);
      const stored = session.state;
      session.state = 'disconnected';
      session.lastSeen = now;
      if (session.sleepDuration > 0) session.sleepSince = now;
      this.requeueInflight(session);
      this.sessionsById.set(clientId, session);
      for (const sub of session.subscriptions.values()) this.shared.tree.add(sub.filter, session, sub.qos);
      const state: ClientState = stored === 'active' ? 'active' : stored === 'asleep' || stored === 'awake' ? 'asleep' : 'disconnected';
      if (state !== 'disconnected') this.place(session.link.radio, this.keyOf(session.link), session.link.nodeId === undefined, session);
      this.setState(session, state);
    }
    return unreadable;
  }

  /** After a restart: client messages a kept session still held go to the broker, queued ones to awake clients. */
  private resumeRestored(): void {
    for (const session of this.sessionsById.values()) {
      if (session.incoming) {
        // A copy: forwardToBroker enters each one again, and a Map visits re-added keys anew.
        for (const [msgId, entry] of [...session.incoming]) {
          if (!entry.message) continue;
          session.incoming.delete(msgId);
          const { topic, topicId, payload, retain } = entry.message;
          forwardToBroker(this, session, msgId, topic, topicId, payload, retain, entry.state === 'qos1-publishing' ? 1 : 2);
        }
      }
      if (session.state === 'active') this.pump(session);
    }
  }

  /**
   * New topic mappings (a configuration reload). Sessions stay as they are: a subscription made by
   * predefined id keeps the topic it was made on; publishes and deliveries use the new ids from now on.
   */
  setTopics(topics: TopicsSection): void {
    this.predefined = new PredefinedTopics(topics);
  }

  /**
   * New access rules (a configuration reload); none = everyone may do everything. They apply from the next
   * CONNECT, REGISTER, PUBLISH or SUBSCRIBE on: a client connected now is not dropped for them.
   */
  setAccess(access: AccessPolicy | undefined): void {
    this.access = access ?? allowEverything;
  }

  addRadio(radio: Radio): void {
    if (this.radios.has(radio.name)) throw new Error(`two radios are named ${radio.name}`);
    this.radios.set(radio.name, radio);
  }

  /** Starts the timers: keep-alive/retry sweep and ADVERTISE (once now, then every advertiseInterval). */
  start(): void {
    this.resumeRestored();
    const sweep = () => {
      this.sweep();
      this.sweepTimer = this.clock.setTimer(sweep, this.sweepIntervalMs);
    };
    this.sweepTimer = this.clock.setTimer(sweep, this.sweepIntervalMs);
    if (this.config.advertiseInterval > 0) {
      const advertise = () => {
        this.advertise();
        this.advertiseTimer = this.clock.setTimer(advertise, this.config.advertiseInterval * 1000);
      };
      advertise();
    }
  }

  stop(): void {
    this.sweepTimer?.cancel();
    this.advertiseTimer?.cancel();
  }

  /** Resolves when every change made so far is in the store. */
  flush(): Promise<void> {
    return this.persistence.flush();
  }

  log(level: LogLevel, message: string): void {
    this.events.emit('log', level, message);
  }

  // ---------------------------------------------------------------- frames in

  /** A frame arrived on a radio. Malformed frames are counted, logged with the sender, and dropped. */
  frame(radio: Radio, address: string, bytes: Buffer): void {
    this.stats.framesIn++;
    const now = this.clock.now();
    // The session speaking from this address directly, if any: found once, for the flood limit and the dispatch.
    const direct = this.sessionsByPeer.get(radio.name, address);
    // A flooding sender is turned away before its frame is even decoded (forwarded nodes share their forwarder's bucket).
    if (this.limits.frameRate > 0) {
      const limiter = this.rateLimiterOf(radio.name);
      if (!(direct ? limiter.takeHeld(direct, now) : limiter.take(address, now))) {
        this.rateLimited(radio, address);
        return;
      }
    }
    let message: SnMessage;
    try {
      message = this.decode(bytes);
    } catch (err) {
      if (!(err instanceof SnCodecError)) throw err;
      this.malformed(radio, address, err.reason, err.message, bytes);
      return;
    }
    let nodeId: Buffer | undefined;
    let nodeIdHex: string | undefined;
    if (message.type === 'ENCAPSULATED') {
      nodeId = Buffer.from(message.wirelessNodeId);
      nodeIdHex = nodeId.toString('hex');
      message = message.message;
      if (message.type === 'ENCAPSULATED') {
        this.malformed(radio, address, 'nested-encapsulation', 'an encapsulated frame inside another', bytes);
        return;
      }
    }
    const lenient = stripTrailingNul(message);
    if (lenient) {
      this.stats.trailingNulStripped++;
      message = lenient;
    }
    this.frameCounts.count(radio.name, message.type, 'in');
    this.frameTrace?.('in', radio.name, address, nodeIdHex, message);
    const key = addressKey(address, nodeIdHex);
    const peer: Peer = { radio, address, nodeId, key };
    const session = nodeIdHex === undefined ? direct : this.sessionsByPeer.get(radio.name, key);
    if (session) session.lastSeen = now;
    try {
      dispatch(this, peer, message, session);
      if (this.persistence.enabled && changesSession(message)) {
        if (session) this.changed(session);
        const now = this.sessionsByPeer.get(radio.name, key);
        if (now && now !== session) this.changed(now);
      }
    } catch (err) {
      // A bug must cost one frame, not the process: every other client keeps being served.
      this.stats.internalErrors++;
      this.log('error', `${radio.name}: ${message.type} from ${address} failed: ${(err as Error).stack ?? err}`);
    }
  }

  private rateLimiterOf(radio: string): RateLimiter {
    let limiter = this.rateLimiters.get(radio);
    if (limiter === undefined) this.rateLimiters.set(radio, (limiter = new RateLimiter(this.limits.frameRate, this.limits.frameBurst)));
    return limiter;
  }

  private malformed(radio: Radio, address: string, reason: string, detail: string, bytes: Buffer): void {
    this.stats.malformed++;
    this.events.emit('frameDropped', radio.name, address, reason);
    const now = this.clock.now();
    const key = senderKey(radio.name, address);
    const last = this.malformedLoggedAt.get(key);
    if (last === undefined || now - last >= 60_000) {
      // Bounded: spoofed senders must not grow this map without end.
      if (this.malformedLoggedAt.size >= 10_000) this.malformedLoggedAt.clear();
      this.malformedLoggedAt.set(key, now);
      const head = bytes.subarray(0, 16).toString('hex');
      this.log('warn', `${radio.name}: malformed frame from ${address} dropped (${reason}: ${detail}) [${bytes.length} bytes: ${head}${bytes.length > 16 ? '…' : ''}]`);
    }
  }

  private rateLimited(radio: Radio, address: string): void {
    this.stats.rateLimited++;
    const now = this.clock.now();
    const key = radio.name + '|' + address;
    const last = this.limitedLoggedAt.get(key);
    if (last !== undefined && now - last < 60_000) return;
    if (this.limitedLoggedAt.size >= 10_000) this.limitedLoggedAt.clear();
    this.limitedLoggedAt.set(key, now);
    this.log('warn', `${radio.name}: ${address} sends more than ${this.limits.frameRate} frames/s; frames over the limit are dropped (limits.frameRate)`);
  }

  /** A well-formed frame that makes no sense from this sender now. */
  unexpected(peer: Peer, message: SnMessage, why: string): void {
    this.stats.unexpected++;
    this.events.emit('frameDropped', peer.radio.name, peer.address, `unexpected ${message.type}: ${why}`);
    this.log('debug', `${peer.radio.name}: ${message.type} from ${peer.address} dropped: ${why}`);
  }

  /** A session as the access rules see it. */
  requester(session: Session): Requester {
    return { clientId: session.clientId, radio: session.link.radio, address: session.link.address };
  }

  /**
   * The access rules refused something: counted, reported by the `accessRefused` event, and logged at
   * most once a minute per client (with how many were refused meanwhile), so a looping sensor cannot flood the log.
   */
  refuse(clientId: string, radio: string, address: string, what: string): void {
    this.stats.refused++;
    this.events.emit('accessRefused', clientId, radio, address, what);
    const key = clientId === '' ? `${radio}|${address}` : clientId;
    const now = this.clock.now();
    const entry = this.refusalsLogged.get(key);
    if (entry && now - entry.at < 60_000) {
      entry.since++;
      return;
    }
    if (this.refusalsLogged.size >= 10_000) this.refusalsLogged.clear();
    this.refusalsLogged.set(key, { at: now, since: 0 });
    const who = clientId === '' ? `${radio} ${address}` : `client ${clientId} (${radio} ${address})`;
    const more = entry && entry.since > 0 ? ` (and ${entry.since} more refusals in the last minute)` : '';
    this.log('warn', `access: ${who} refused: ${what}${more}`);
  }

  /**
   * A message the gateway cannot map to a session (§5.4.21): counted as unexpected and answered with
   * DISCONNECT, so the sensor reconnects at once (e.g. after a gateway restart). At most one per
   * address per second; the rest are counted.
   */
  unmapped(peer: Peer, message: SnMessage, why: string): void {
    this.unexpected(peer, message, why);
    // Per address, not per node behind a forwarder: the forwarder's address is what a flood would hit.
    if (!this.unmappedAnswers.allow(senderKey(peer.radio.name, peer.address), this.clock.now())) {
      this.stats.unmappedDisconnectsSuppressed++;
      return;
    }
    this.stats.unmappedDisconnects++;
    this.sendToPeer(peer, { type: 'DISCONNECT' });
  }

  // ---------------------------------------------------------------- frames out

  linkOf(peer: Peer): Link {
    return peer.nodeId
      ? { radio: peer.radio.name, address: peer.address, nodeId: peer.nodeId.toString('hex') }
      : { radio: peer.radio.name, address: peer.address };
  }

  /** Sends to a peer (wrapped for its forwarder if it has one). False when the radio cannot carry it. */
  sendToPeer(peer: Peer, message: SnMessage): boolean {
    return this.transmit(peer.radio, peer.address, peer.nodeId, message);
  }

  send(session: Session, message: SnMessage): boolean {
    const link = session.link;
    const radio = this.radios.get(link.radio);
    if (!radio) return false;
    return this.transmit(radio, link.address, link.nodeId === undefined ? undefined : Buffer.from(link.nodeId, 'hex'), message);
  }

  private transmit(radio: Radio, address: string, nodeId: Buffer | undefined, message: SnMessage): boolean {
    let frame: Buffer;
    try {
      frame = nodeId
        ? encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodeId, message })
        : encode(message);
    } catch (err) {
      if (!(err instanceof SnCodecError)) throw err;
      // e.g. a broker topic longer than any MQTT-SN frame can carry.
      this.stats.oversize++;
      this.log('warn', `${radio.name}: ${message.type} to ${address} not sent: ${err.message}`);
      return false;
    }
    if (frame.length > radio.maxFrameSize) {
      this.stats.oversize++;
      this.log('warn', `${radio.name}: ${message.type} to ${address} not sent: ${frame.length} bytes, the radio carries at most ${radio.maxFrameSize}`);
      return false;
    }
    this.stats.framesOut++;
    this.frameCounts.count(radio.name, message.type, 'out');
    this.frameTrace?.('out', radio.name, address, nodeId?.toString('hex'), message);
    radio.send(address, frame);
    return true;
  }

  /** ADVERTISE on every radio (§6.1), Duration = the interval to the next one. */
  advertise(): void {
    const message: SnMessage = { type: 'ADVERTISE', gwId: this.config.id, duration: this.config.advertiseInterval };
    const frame = encode(message);
    for (const radio of this.radios.values()) this.broadcastOn(radio, message, frame);
  }

  /** Broadcasts on one radio (ADVERTISE, GWINFO), counted and traced like any frame out. */
  broadcastOn(radio: Radio, message: SnMessage, frame: Buffer = encode(message)): void {
    this.frameCounts.count(radio.name, message.type, 'out');
    this.frameTrace?.('out', radio.name, 'broadcast', undefined, message);
    radio.broadcast(frame);
  }

  // ---------------------------------------------------------------- sessions

  /** Clients in a connected state (connecting, active, asleep, awake): what maxClients limits. */
  get connectedCount(): number {
    return this.connectedClients;
  }

  /** Clients in the `connecting` state: what limits.maxConnecting bounds. */
  get connectingCount(): number {
    return this.connectingClients;
  }

  setState(session: Session, to: ClientState): void {
    const from = session.state;
    session.state = to;
    if (from === 'connecting' && session.counted) this.connectingClients--;
    if (to === 'connecting') this.connectingClients++;
    this.changed(session);
    // Counted even when the state does not change: a new session starts out 'connecting' uncounted.
    const wasCounted = session.counted;
    session.counted = isConnected(to);
    if (session.counted !== wasCounted) this.connectedClients += session.counted ? 1 : -1;
    this.schedule(session);
    if (from !== to) this.events.emit('clientState', session.clientId, from, to);
  }

  /** Binds a session to the peer it now speaks from (a CONNECT from a new address takes the session over). */
  bind(session: Session, peer: Peer): void {
    const oldRadio = session.link.radio;
    const oldKey = this.keyOf(session.link);
    const moved = oldKey !== peer.key || oldRadio !== peer.radio.name;
    if (moved && this.sessionsByPeer.get(oldRadio, oldKey) === session) this.unplace(oldRadio, oldKey, session.link.nodeId === undefined, session);
    session.link = this.linkOf(peer);
    this.place(peer.radio.name, peer.key, peer.nodeId === undefined, session);
    this.changed(session);
  }

  unbind(session: Session): void {
    const { radio } = session.link;
    const key = this.keyOf(session.link);
    if (this.sessionsByPeer.get(radio, key) === session) this.unplace(radio, key, session.link.nodeId === undefined, session);
  }

  /**
   * Every change of sessionsByPeer goes through here and unplace(): a session speaking directly from an
   * address keeps that address's flood-limit bucket (RateLimiter), which must follow it in and out.
   */
  private place(radio: string, key: string, direct: boolean, session: Session): void {
    const before = this.sessionsByPeer.get(radio, key);
    this.sessionsByPeer.set(radio, key, session);
    if (!direct || before === session || this.limits.frameRate <= 0) return;
    const limiter = this.rateLimiterOf(radio);
    if (before) limiter.handOver(before, session);
    else limiter.attach(key, session);
  }

  private unplace(radio: string, key: string, direct: boolean, session: Session): void {
    this.sessionsByPeer.delete(radio, key);
    if (direct && this.limits.frameRate > 0) this.rateLimiterOf(radio).detach(key, session, this.clock.now());
  }

  /** Where the session is found on its radio (PeerIndex). */
  keyOf(link: Link): string {
    return addressKey(link.address, link.nodeId);
  }

  /** CleanSession=1 (§6.3): subscriptions, registrations, will, buffered and in-flight messages all go. */
  clearSession(session: Session): void {
    for (const sub of session.subscriptions.values()) this.dropSubscription(session, sub.filter);
    forgetRegistrations(session);
    session.will = undefined;
    session.pendingWill = undefined;
    session.queue = NO_MESSAGES;
    session.held = undefined;
    session.pendingPubrel = undefined;
    session.inflight = NO_INFLIGHT;
    session.incoming = undefined;
  }

  /** Puts unfinished gateway → client publishes back at the head of the queue, to be sent again later. */
  requeueInflight(session: Session): void {
    const again: OutboundMessage[] = [];
    for (const f of session.inflight) {
      if (f.message && (f.step === 'puback' || f.step === 'pubrec')) again.push({ ...f.message, msgId: f.msgId });
      // A REGISTER never acknowledged: the client does not know the id, so it must be registered again.
      if (f.step === 'regack') forgetTopicId(session, f.topicId);
      // A QoS 2 delivery waiting for PUBCOMP: its PUBREL goes again first when the client is back.
      if (f.step === 'pubcomp') (session.pendingPubrel ??= []).push(f.msgId);
    }
    session.inflight = NO_INFLIGHT;
    if (again.length) ownQueue(session).unshift(...again);
    this.changed(session);
  }

  /** Transparent mode (broker.mode: transparent): every sensor is its own client at the broker. */
  get transparent(): boolean {
    return this.upstream.openClient !== undefined;
  }

  /** The client is gone without a clean DISCONNECT (§6.11, §6.13, §6.14): its will is published. */
  lose(session: Session, reason: string): void {
    this.log('info', `client ${session.clientId} lost: ${reason}`);
    this.end(session, 'lost');
  }

  /** The client left cleanly (§6.12), or another client took its address: no will. */
  disconnect(session: Session): void {
    this.end(session, 'disconnected');
  }

  /** A connection ends: the session stays for CleanSession=0 (§6.3), and is emptied for CleanSession=1. */
  private end(session: Session, state: 'lost' | 'disconnected'): void {
    this.requeueInflight(session);
    this.unbind(session);
    this.setState(session, state);
    // Transparent mode: the broker holds the will and publishes it when the connection is cut.
    if (this.transparent) this.brokerSessions.close(session, state === 'disconnected');
    else if (state === 'lost') this.publishWill(session);
    if (session.cleanSession) this.clearSession(session);
  }

  /**
   * A CleanSession=0 session nobody came back for in `sessionExpiry` seconds (like MQTT 5's Session
   * Expiry Interval) is forgotten, in memory and in the store. Nothing is published: its will went
   * when the client was lost.
   */
  private expire(session: Session): void {
    this.log('info', `client ${session.clientId}: session expired (${this.config.sessionExpiry} s without the client)`);
    for (const sub of session.subscriptions.values()) this.dropSubscription(session, sub.filter);
    this.unbind(session);
    this.sessionsById.delete(session.clientId);
    this.changed(session);
    this.events.emit('clientForgotten', session.clientId);
  }

  publishWill(session: Session): void {
    const will = session.will;
    session.will = undefined;
    if (!will || !will.topic) return;
    if (!this.access.mayPublish(this.requester(session), will.topic)) {
      this.refuse(session.clientId, session.link.radio, session.link.address, `will on ${will.topic} not published`);
      return;
    }
    this.stats.willsPublished++;
    this.log('info', `client ${session.clientId}: publishing will on ${will.topic}`);
    this.upstream.publish(will.topic, will.message, will.qos, will.retain);
  }

  clients(): ClientInfo[] {
    return [...this.sessionsById.values()].map((s) => this.clientInfo(s));
  }

  /** The ClientIds of every session the gateway holds, without building a ClientInfo for each. */
  clientIds(): IterableIterator<string> {
    return this.sessionsById.keys();
  }

  client(clientId: string): ClientInfo | undefined {
    const s = this.sessionsById.get(clientId);
    return s && this.clientInfo(s);
  }

  private clientInfo(s: Session): ClientInfo {
    return {
      clientId: s.clientId,
      state: s.state,
      radio: s.link.radio,
      address: s.link.address,
      nodeId: s.link.nodeId,
      lastSeen: s.lastSeen,
      keepAlive: s.keepAlive,
      buffered: s.queue.length,
      inflight: s.inflight.length,
      dropped: s.dropped,
      subscriptions: [...s.subscriptions.values()].map((x) => ({ filter: x.filter, qos: x.qos })),
      hasWill: s.will !== undefined,
    };
  }

  // ---------------------------------------------------------------- subscriptions

  /** A client's subscription joins the shared broker subscriptions; `done` gets the granted QoS. */
  addSubscription(session: Session, filter: string, qos: 0 | 1 | 2, done: (granted: number) => void): void {
    if (this.transparent) {
      const broker = this.brokerSessions.get(session.clientId);
      if (broker) broker.subscribe(filter, qos, done);
      else done(0x80);
      return;
    }
    this.shared.add(session, filter, qos, done);
  }

  dropSubscription(session: Session, filter: string): void {
    if (this.transparent) {
      this.brokerSessions.get(session.clientId)?.unsubscribe(filter);
      return;
    }
    this.shared.drop(session, filter);
  }

  // ---------------------------------------------------------------- broker → clients

  /**
   * A message from the broker: to every client whose subscription matches (§6.10). Returns a promise
   * when a QoS 1/2 message went into a kept session: the broker is acknowledged once it is stored.
   */
  brokerMessage(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, delivery?: BrokerDelivery): Promise<void> | undefined {
    const { clients, retained } = this.shared.recipients(topic, retain);
    let stored = false;
    const brokerId = this.persistence.enabled ? delivery?.id : undefined;
    for (const [session, subQos] of clients) {
      const kept = this.persistence.enabled && this.keeps(session);
      if (kept && delivery?.dup && holdsBrokerMessage(session, delivery.id, topic, payload)) {
        stored = true;
        continue;
      }
      const message: OutboundMessage = { topic, payload, qos: Math.min(qos, subQos) as 0 | 1 | 2, retain: retained };
      if (brokerId !== undefined && message.qos > 0) message.brokerId = brokerId;
      this.deliver(session, message);
      stored ||= kept;
    }
    if (!stored || qos === 0) return undefined;
    return new Promise((resolve) => this.afterCommit(resolve));
  }

  /** Queues a message for a client: sent now when it is awake, buffered while it sleeps or is away (§6.14). */
  deliver(session: Session, message: OutboundMessage): void {
    const state = session.state;
    const limit = Math.max(1, this.config.sleepBuffer);
    this.changed(session);
    if (session.acksOwed > 0 && state !== 'lost' && state !== 'disconnected') {
      // A SUBACK or CONNACK is on its way: the client must learn the topic id, or that it is connected, first.
      this.enqueue(session, (session.held ??= []), message, limit, 'client queue full');
      return;
    }
    if (state === 'active' || state === 'awake') {
      // Messages waiting behind in-flight ones are bounded too: a slow client must not grow memory without end.
      if (this.enqueue(session, ownQueue(session), message, limit, 'client queue full')) this.pump(session);
      return;
    }
    if (state === 'connecting') {
      this.enqueue(session, ownQueue(session), message, limit, 'client queue full');
      return;
    }
    if ((state === 'lost' || state === 'disconnected') && session.cleanSession) return;
    if (this.enqueue(session, ownQueue(session), message, this.config.sleepBuffer, 'sleep buffer full')) {
      this.events.emit('messageBuffered', session.clientId, message.topic);
    }
  }

  /** A SUBACK or CONNACK the client was owed has gone; with none left owed, held messages go on. */
  ackSent(session: Session): void {
    this.changed(session);
    session.acksOwed = Math.max(0, session.acksOwed - 1);
    if (session.acksOwed > 0 || !session.held) return;
    const held = session.held;
    session.held = undefined;
    for (const message of held) this.deliver(session, message);
  }

  /**
   * Adds to one of a client's queues, bounded by `limit` (`sleepBuffer`, §6.14). When full, the oldest
   * QoS 0 message makes room; with none to spare, a new QoS 0 message is dropped, and a QoS 1/2 one
   * replaces the oldest QoS 1/2. Every drop is counted. Returns whether `message` was queued.
   */
  private enqueue(session: Session, queue: OutboundMessage[], message: OutboundMessage, limit: number, reason: string): boolean {
    if (queue.length >= limit) {
      const oldestQos0 = queue.findIndex((m) => m.qos === 0);
      let dropped: OutboundMessage;
      if (oldestQos0 >= 0) dropped = queue.splice(oldestQos0, 1)[0];
      else if (message.qos === 0 || queue.length === 0) dropped = message;
      else dropped = queue.shift()!;
      this.dropForClient(session, dropped.topic, reason);
      if (dropped === message) return false;
    }
    queue.push(message);
    return true;
  }

  dropForClient(session: Session, topic: string, reason: string): void {
    session.dropped++;
    this.stats.droppedForClients++;
    this.events.emit('messageDropped', session.clientId, topic, reason);
  }

  /** The topic id a client knows a topic by: short name, predefined id, or a registered id. */
  private topicRefFor(session: Session, topic: string): { topicIdType: 'normal' | 'predefined' | 'short'; topicId: number } | undefined {
    const sub = session.subscriptions.get(topic);
    if (sub?.topicIdType === 'short') return { topicIdType: 'short', topicId: Buffer.from(topic).readUInt16BE(0) };
    const predefinedId = this.predefined.idOf({ clientId: session.clientId, address: addressOf(session.link) }, topic);
    if (predefinedId !== undefined) return { topicIdType: 'predefined', topicId: predefinedId };
    const id = session.topics.idOf(topic);
    return id === undefined ? undefined : { topicIdType: 'normal', topicId: id };
  }

  /**
   * Sends queued messages while the in-flight window allows (§6.10), registering a topic first when the
   * client has no id for it (§6.5). An awake client gets PINGRESP once everything is through (§6.14).
   */
  pump(session: Session): void {
    const pubrels = session.pendingPubrel;
    if (pubrels && (session.state === 'active' || session.state === 'awake')) {
      session.pendingPubrel = undefined;
      for (const msgId of pubrels) {
        this.expect(session, 'pubcomp', msgId);
        this.send(session, { type: 'PUBREL', msgId });
      }
    }
    const queue = session.queue;
    while (session.inflight.length < this.config.maxInflightPerClient && queue.length > 0) {
      const message = queue[0];
      const ref = this.topicRefFor(session, message.topic);
      if (ref && ref.topicIdType === 'normal' && session.inflight.some((f) => f.step === 'regack' && f.topicId === ref.topicId)) break;
      if (!ref) {
        const topicId = registerTopic(session, message.topic);
        if (topicId === undefined) {
          queue.shift();
          this.dropForClient(session, message.topic, 'no topic id left');
          continue;
        }
        const msgId = nextMsgId(session);
        if (!this.send(session, { type: 'REGISTER', topicId, msgId, topicName: message.topic })) {
          // The client can never learn this id over this radio: drop the message, no REGACK can come.
          forgetTopicId(session, topicId);
          queue.shift();
          this.dropForClient(session, message.topic, 'REGISTER too large for the radio');
          continue;
        }
        addInflight(session, { step: 'regack', msgId, message: undefined, topicId, topicIdType: 'normal', sentAt: this.clock.now(), retries: 0 });
        this.schedule(session);
        continue;
      }
      queue.shift();
      const again = message.qos > 0 && message.msgId !== undefined;
      const msgId = message.qos === 0 ? 0 : (message.msgId ?? nextMsgId(session));
      const sent = this.send(session, {
        type: 'PUBLISH', dup: again, qos: message.qos, retain: message.retain,
        topicIdType: ref.topicIdType, topicId: ref.topicId, msgId, payload: message.payload,
      });
      if (!sent) {
        this.dropForClient(session, message.topic, 'frame too large for the radio');
        continue;
      }
      this.stats.deliveredToClients++;
      if (message.qos > 0) {
        addInflight(session, {
          step: message.qos === 1 ? 'puback' : 'pubrec', msgId, message,
          topicId: ref.topicId, topicIdType: ref.topicIdType, sentAt: this.clock.now(), retries: 0,
        });
        this.schedule(session);
      }
    }
    if (session.state === 'awake' && queue.length === 0 && session.inflight.length === 0) {
      this.send(session, { type: 'PINGRESP' });
      this.fallAsleep(session);
    }
  }

  fallAsleep(session: Session): void {
    session.sleepSince = this.clock.now();
    this.setState(session, 'asleep');
  }

  /** Removes the in-flight exchange awaiting `step` with `msgId`; undefined when there is none. */
  takeInflight(session: Session, step: Inflight['step'], msgId: number): Inflight | undefined {
    const i = session.inflight.findIndex((f) => f.step === step && f.msgId === msgId);
    if (i < 0) return undefined;
    this.changed(session);
    return session.inflight.splice(i, 1)[0];
  }

  /** Starts a gateway → client exchange that expects a reply and is resent on time-out (§6.13). */
  expect(session: Session, step: Inflight['step'], msgId: number): void {
    addInflight(session, { step, msgId, message: undefined, topicId: 0, topicIdType: 'normal', sentAt: this.clock.now(), retries: 0 });
    this.schedule(session);
  }

  // ---------------------------------------------------------------- client → broker

  /**
   * The broker topic for a PUBLISH's or SUBSCRIBE's topic id (§6.6, §6.7, §6.8); undefined when unknown.
   * A QoS -1 sender without a session is named by `peer`. A predefined template that cannot make a valid
   * topic for this sender is logged and treated as an unknown id.
   */
  resolveTopic(session: Session | undefined, topicIdType: 'normal' | 'predefined' | 'short', topicId: number, peer?: Peer): string | undefined {
    switch (topicIdType) {
      case 'normal': return session?.topics.nameOf(topicId);
      case 'predefined': {
        const link = session?.link ?? (peer && this.linkOf(peer));
        const found = this.predefined.lookup({ clientId: session?.clientId, address: link && addressOf(link) }, topicId);
        if (found === undefined) return undefined;
        if ('topic' in found) return found.topic;
        this.logRefusedTemplate(session?.clientId ?? (link && addressOf(link)) ?? '?', topicId, found.refused);
        return undefined;
      }
      case 'short': {
        // Two bytes from the air may spell a wildcard or NUL, which no broker topic may contain.
        const name = shortTopicName(topicId);
        return isValidTopicName(name) ? name : undefined;
      }
    }
  }

  private logRefusedTemplate(who: string, topicId: number, why: string): void {
    const key = `${who}|${topicId}`;
    const now = this.clock.now();
    const last = this.refusedLoggedAt.get(key);
    if (last !== undefined && now - last < 60_000) return;
    // Bounded: spoofed QoS -1 senders must not grow this map without end.
    if (this.refusedLoggedAt.size >= 10_000) this.refusedLoggedAt.clear();
    this.refusedLoggedAt.set(key, now);
    this.log('warn', `${who}: predefined topic id ${topicId} refused: its template ${why}`);
  }

  /**
   * Publishes to the broker (in transparent mode on `session`'s own connection, when there is one);
   * false = the outgoing queue is full (answer congestion).
   */
  publishUpstream(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, done?: PublishDone, session?: Session): boolean {
    const own = session && this.brokerSessions.get(session.clientId);
    // Never under the gateway's own identity for a client that has one of its own: that would bypass the broker's ACL.
    const accepted = own ? own.publish(topic, payload, qos, retain, done)
      : session && this.transparent ? false
      : this.upstream.publish(topic, payload, qos, retain, done);
    if (accepted) this.stats.publishedToBroker++;
    else this.stats.congestion++;
    return accepted;
  }

  // ---------------------------------------------------------------- timers

  /**
   * The timer tick: looks only at the sessions whose deadline has come (keep-alive §6.11, missed
   * wake-ups §6.14, retransmissions §6.13, forgetting ended sessions), so 10,000 idle sensors cost
   * nothing per tick. A session comes out of the heap at or before its real deadline (lastSeen only
   * moves later); one that is not yet due is simply put back for its new deadline.
   */
  sweep(): void {
    const now = this.clock.now();
    for (const session of this.deadlines.popDue(now)) {
      // Stale entries: the session was rescheduled earlier since, or it is forgotten.
      if (session.checkAt === Infinity || this.sessionsById.get(session.clientId) !== session) continue;
      session.checkAt = Infinity;
      this.sessionsExamined++;
      this.checkDeadlines(session, now);
      if (this.sessionsById.get(session.clientId) === session) this.schedule(session);
    }
  }

  /**
   * Makes sure the timers look at `session` no later than its next deadline. Called whenever a deadline
   * may have moved earlier (a state change, a new exchange awaiting an answer); deadlines that move later
   * (a frame heard) need nothing: the session is looked at early and put back.
   */
  private schedule(session: Session): void {
    const at = this.nextDeadline(session);
    if (at >= session.checkAt) return;
    session.checkAt = at;
    this.deadlines.push(at, session);
  }

  /** The earliest time at which checkDeadlines could act on `session`; Infinity = never, as it stands. */
  private nextDeadline(session: Session): number {
    const state = session.state;
    const grace = this.config.keepAliveGrace;
    if (state === 'lost' || state === 'disconnected') {
      if (session.cleanSession) return session.lastSeen + ENDED_SESSION_KEPT_MS;
      return this.config.sessionExpiry > 0 ? session.lastSeen + this.config.sessionExpiry * 1000 : Infinity;
    }
    const sleepDeadline = Math.max(session.sleepSince, session.lastSeen) + session.sleepDuration * grace * 1000;
    if (state === 'asleep') return sleepDeadline;
    let at = Infinity;
    if (state === 'awake') {
      if (session.sleepDuration > 0) at = sleepDeadline;
    } else if (session.keepAlive > 0) {
      at = session.lastSeen + session.keepAlive * grace * 1000;
    }
    const retryMs = this.config.retry.interval * 1000;
    for (const f of session.inflight) at = Math.min(at, f.sentAt + retryMs);
    return at;
  }

  /** What the timers do for one session whose deadline may have come (the old once-a-second sweep's body). */
  private checkDeadlines(session: Session, now: number): void {
    const grace = this.config.keepAliveGrace;
    const retryMs = this.config.retry.interval * 1000;
    const expiryMs = this.config.sessionExpiry * 1000;
    const state = session.state;
    if (state === 'lost' || state === 'disconnected') {
      // An ended CleanSession=1 session holds nothing but its last state; it is shown for an hour,
      // then forgotten, so clients with ever-new ClientIds cannot grow memory without end.
      if (session.cleanSession && now - session.lastSeen > ENDED_SESSION_KEPT_MS) {
        this.sessionsById.delete(session.clientId);
        this.events.emit('clientForgotten', session.clientId);
      } else if (!session.cleanSession && expiryMs > 0 && now - session.lastSeen > expiryMs) this.expire(session);
      return;
    }
    if (state === 'asleep') {
      if (now - Math.max(session.sleepSince, session.lastSeen) > session.sleepDuration * grace * 1000) {
        this.lose(session, `missed its wake-up (slept ${session.sleepDuration} s)`);
      }
      return;
    }
    if (session.keepAlive > 0 && state !== 'awake' && now - session.lastSeen > session.keepAlive * grace * 1000) {
      this.lose(session, `keep-alive expired (${session.keepAlive} s × ${grace})`);
      return;
    }
    if (state === 'awake' && session.sleepDuration > 0 && now - Math.max(session.sleepSince, session.lastSeen) > session.sleepDuration * grace * 1000) {
      this.lose(session, 'awake but silent past its sleep duration');
      return;
    }
    for (const f of session.inflight) {
      if (now - f.sentAt < retryMs) continue;
      if (f.retries >= this.config.retry.count) {
        this.lose(session, `no answer to ${f.step === 'regack' ? 'REGISTER' : f.step === 'willtopic' ? 'WILLTOPICREQ' : f.step === 'willmsg' ? 'WILLMSGREQ' : f.step === 'pubcomp' ? 'PUBREL' : 'PUBLISH'} after ${f.retries} retries`);
        break;
      }
      f.retries++;
      this.stats.retries++;
      f.sentAt = now;
      this.resend(session, f);
    }
  }

  private resend(session: Session, f: Inflight): void {
    switch (f.step) {
      case 'regack':
        this.send(session, { type: 'REGISTER', topicId: f.topicId, msgId: f.msgId, topicName: session.topics.nameOf(f.topicId) ?? '' });
        break;
      case 'puback':
      case 'pubrec': {
        const m = f.message!;
        this.send(session, { type: 'PUBLISH', dup: true, qos: m.qos, retain: m.retain, topicIdType: f.topicIdType, topicId: f.topicId, msgId: f.msgId, payload: m.payload });
        break;
      }
      case 'pubcomp':
        this.send(session, { type: 'PUBREL', msgId: f.msgId });
        break;
      case 'willtopic':
        this.send(session, { type: 'WILLTOPICREQ' });
        break;
      case 'willmsg':
        this.send(session, { type: 'WILLMSGREQ' });
        break;
    }
  }
}

