/**
 * A client's session: plain, serialisable data (no sockets or timers inside), so the store can
 * keep it (session-record.ts turns it into a record and back). The core changes it; handlers read and write it through the core.
 */
import { IncomingPublishes } from './incoming-publishes.js';
import type { QoS } from '../../sn-codec/types.js';
import { SmallMap } from './small-map.js';
import { TopicRegistry } from './topic-registry.js';

/** §6.14 client states, plus 'connecting' while the will handshake of §6.2 is under way. */
export type ClientState = 'connecting' | 'active' | 'asleep' | 'awake' | 'lost' | 'disconnected';

/** Where a client is reached: a radio, an address on it, and a Wireless Node Id when behind a forwarder (§5.5). */
export interface Link {
  radio: string;
  address: string;
  /** Hex of the Wireless Node Id, when the client sits behind a forwarder. */
  nodeId?: string;
}

export interface Will {
  topic: string;
  message: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** A broker message waiting for, or on its way to, a client. */
export interface OutboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** Set when it was sent before and goes again (after sleep or reconnect): same MsgId, DUP=1, so QoS 2 stays exactly once. */
  msgId?: number;
  /**
   * The broker's packet id (kept sessions, QoS 1/2): a message the broker sends again with DUP after a
   * crash that came before our acknowledgement went out is recognised and not buffered twice.
   */
  brokerId?: number;
}

/**
 * A gateway → client exchange awaiting the client's reply (§6.13), resent on time-out.
 * `step` says which reply is awaited.
 */
export interface Inflight {
  step: 'regack' | 'puback' | 'pubrec' | 'pubcomp' | 'willtopic' | 'willmsg';
  msgId: number;
  /** The frame to resend (PUBLISH is re-encoded with DUP set). */
  message: OutboundMessage | undefined;
  topicId: number;
  topicIdType: 'normal' | 'predefined' | 'short';
  sentAt: number;
  retries: number;
}

export type IncomingState = 'qos1-publishing' | 'qos2-publishing' | 'qos2-received';

/**
 * A client's QoS 1/2 PUBLISH the gateway has not finished with. While 'publishing' it keeps the message,
 * so a kept session (`persistence`) can hand it to the broker again after a restart.
 */
export interface IncomingPublish {
  state: IncomingState;
  /** Present while 'publishing'. */
  message?: { topic: string; topicId: number; payload: Buffer; retain: boolean };
}

export interface Subscription {
  /** The MQTT filter on the broker (a short name or predefined topic resolves to its name). */
  filter: string;
  qos: 0 | 1 | 2;
  /** How the client named it, so deliveries use the same kind of topic id. */
  topicIdType: 'normal' | 'predefined' | 'short';
  /** The predefined id it was made by: UNSUBSCRIBE by that id finds it even after a reload or a template's new address. */
  topicId?: number;
}

export interface Session {
  clientId: string;
  state: ClientState;
  link: Link;
  cleanSession: boolean;
  /** Keep-alive in seconds (0 = none). */
  keepAlive: number;
  lastSeen: number;
  /** Set while asleep: when the client said it would be back by, in ms. */
  sleepDuration: number;
  sleepSince: number;
  will: Will | undefined;
  /** Will parts gathered during the §6.2 handshake, installed on CONNACK. */
  pendingWill: Partial<Will> | undefined;
  /** Registered topic ids (§6.5), per client: name ↔ id. */
  topics: TopicRegistry;
  nextTopicId: number;
  /** By filter. */
  subscriptions: SmallMap<string, Subscription>;
  /** Messages for the client not yet sent: buffered while asleep, or waiting behind an inflight one. */
  queue: OutboundMessage[];
  inflight: Inflight[];
  nextMsgId: number;
  /**
   * The client's QoS 1/2 PUBLISHes by MsgId: QoS 1 'publishing' until the broker accepted (a DUP resend is
   * not published twice); QoS 2 'publishing', then 'received' until PUBREL. Created on first use: most
   * sensors publish QoS 0 and 10,000 of them must stay small.
   */
  incoming: IncomingPublishes | undefined;
  /** QoS 2 deliveries whose PUBREL was sent but not completed when the client slept or went away. */
  pendingPubrel: number[] | undefined;
  /**
   * SUBACKs and CONNACKs not sent yet (waiting for the broker's SUBACK, or for the store): deliveries are
   * held meanwhile, so the client learns its topic id, or that it is connected, before a PUBLISH comes.
   */
  acksOwed: number;
  /** Broker messages that arrived while `acksOwed`. */
  held: OutboundMessage[] | undefined;
  /** Messages dropped for this client (buffer full), for the operator. */
  dropped: number;
  /** Whether this client already counts against maxClients. */
  counted: boolean;
  /**
   * When the core's timers next look at this session (keep-alive, sleep, retry, forgetting); Infinity =
   * not scheduled. Never later than the real deadline: the core only pushes it earlier (GatewayCore.schedule).
   */
  checkAt: number;
  /**
   * The flood limit's token bucket of the address the session speaks from directly (RateLimiter.attach):
   * kept here so that a frame from a known sender costs no lookup of its own. -Infinity: full.
   */
  rateTokens: number;
  rateAt: number;
}

export function newSession(clientId: string, link: Link, now: number): Session {
  return {
    clientId,
    state: 'connecting',
    link,
    cleanSession: true,
    keepAlive: 0,
    lastSeen: now,
    sleepDuration: 0,
    sleepSince: 0,
    checkAt: Infinity,
    will: undefined,
    pendingWill: undefined,
    topics: NO_TOPICS,
    nextTopicId: 1,
    subscriptions: NO_SUBSCRIPTIONS,
    queue: NO_MESSAGES,
    inflight: NO_INFLIGHT,
    nextMsgId: 1,
    incoming: undefined,
    pendingPubrel: undefined,
    acksOwed: 0,
    held: undefined,
    dropped: 0,
    counted: false,
    rateTokens: 0,
    rateAt: -Infinity,
  };
}

/**
 * The empty registry and subscription list every session starts with, shared: 10,000 sensors, many
 * of which never register or subscribe, need not carry empty ones each. Reads see them empty; the
 * helpers below give a session its own on first write, and a stray direct write fails loudly instead
 * of reaching every session.
 */
class NoTopics extends TopicRegistry {
  override set(): void {
    throw new Error('write to the shared empty topic registry: use the session helpers');
  }
}
class NoSubscriptions extends SmallMap<string, Subscription> {
  override set(): this {
    throw new Error('write to the shared empty subscriptions: use the session helpers');
  }
}
export const NO_TOPICS: TopicRegistry = new NoTopics();

/**
 * The empty queue and in-flight list sessions start with, shared likewise until the first message:
 * frozen, so a stray write throws instead of reaching every session. Write through ownQueue / addInflight.
 */
export const NO_MESSAGES: OutboundMessage[] = Object.freeze([]) as unknown as OutboundMessage[];
export const NO_INFLIGHT: Inflight[] = Object.freeze([]) as unknown as Inflight[];

/** The session's own queue, to add to. */
export function ownQueue(session: Session): OutboundMessage[] {
  if (session.queue === NO_MESSAGES) session.queue = [];
  return session.queue;
}

/** Starts waiting for the client's reply to an exchange (§6.13). */
export function addInflight(session: Session, flight: Inflight): void {
  if (session.inflight === NO_INFLIGHT) session.inflight = [flight];
  else session.inflight.push(flight);
}
export const NO_SUBSCRIPTIONS: SmallMap<string, Subscription> = new NoSubscriptions();

/** Registers a topic name for a client (§6.5); returns its id, or undefined when all ids are used. */
export function registerTopic(session: Session, topicName: string): number | undefined {
  const existing = session.topics.idOf(topicName);
  if (existing !== undefined) return existing;
  if (session.topics.size >= 0xfffe) return undefined;
  if (session.topics === NO_TOPICS) session.topics = new TopicRegistry();
  let id = session.nextTopicId;
  // 0x0000 and 0xFFFF are reserved; skip ids still in use after wrap-around.
  while (id === 0 || id === 0xffff || session.topics.hasId(id)) id = id >= 0xfffe ? 1 : id + 1;
  session.topics.set(topicName, id);
  session.nextTopicId = id >= 0xfffe ? 1 : id + 1;
  return id;
}

/** Forgets a topic id (the client refused or lost it); returns the topic it stood for. */
export function forgetTopicId(session: Session, topicId: number): string | undefined {
  return session.topics.deleteId(topicId);
}

/** Records a client's subscription (§6.9). */
export function setSubscription(session: Session, subscription: Subscription): void {
  if (session.subscriptions === NO_SUBSCRIPTIONS) session.subscriptions = new SmallMap();
  session.subscriptions.set(subscription.filter, subscription);
}

/** CleanSession=1 (§6.3): the session's registrations and subscriptions, emptied. */
export function forgetRegistrations(session: Session): void {
  session.topics = NO_TOPICS;
  session.nextTopicId = 1;
  session.subscriptions = NO_SUBSCRIPTIONS;
}

export function nextMsgId(session: Session): number {
  const id = session.nextMsgId;
  session.nextMsgId = id >= 0xffff ? 1 : id + 1;
  return id;
}

export function isConnected(state: ClientState): boolean {
  return state === 'active' || state === 'awake' || state === 'asleep' || state === 'connecting';
}

/** Clamp an MQTT-SN QoS (-1..2) to what the broker speaks. */
export function brokerQos(qos: QoS): 0 | 1 | 2 {
  return qos === 1 || qos === 2 ? qos : 0;
}
