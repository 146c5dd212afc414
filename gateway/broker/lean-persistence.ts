/**
 * The embedded broker's persistence (aedes's `persistence` option): aedes-persistence's in-memory store,
 * with its retained messages and subscriptions kept leaner (issue 13: with the shipped config each
 * sensor's retained status message and the gateway's subscription for its filter live in the gateway's
 * own process). Outgoing and incoming QoS 1/2 packets and wills stay the parent's. Same documented
 * interface; test/broker/lean-persistence.test.ts runs aedes-persistence's own abstract suite on it.
 *
 * Retained messages: one Map, topic → message, the topic kept only as the key. aedes's own QoS 0 packets
 * are kept as their payload alone, as a latin1 string (one byte a byte, exact for any bytes): no Buffer
 * object and no share of an 8 KB Buffer pool slab, which one small live payload keeps whole. What is
 * read back is a new PUBLISH packet with the fields aedes reads from it (cmd, topic, payload, qos, retain);
 * the sender's ClientId, the broker's counter and id are not kept. Any other packet is kept whole, as
 * the parent does. A filter without wildcards is looked up by topic; one with wildcards scans every
 * retained topic, as the parent does for every filter (10,000 status topics made each SUBSCRIBE scan).
 *
 * Subscriptions, kept once (the parent keeps each twice: per client, and in a topic trie with an object,
 * a Map and a generator closure per subscription): per client, filter → its options packed in a small
 * integer; per filter, its client (or Set of clients); and filters with wildcards, only those, in a
 * topic matcher (topic-matcher.ts): subscriptionsByTopic lists them in the parent's order.
 */
import { Readable } from 'node:stream';
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import { QlobberTrue } from 'qlobber';
import { TopicMatcher } from './topic-matcher.js';

/** aedes-persistence's trie options: MQTT's separator and wildcards. */
const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };

interface RetainedPacket { cmd: string; topic: string; payload: Buffer; qos: number; retain?: boolean; [field: string]: unknown }

/** The own fields of aedes-packet's Packet (what aedes stores); a packet with any other is kept whole. */
const AEDES_PACKET_FIELDS = new Set(['cmd', 'brokerId', 'brokerCounter', 'topic', 'payload', 'qos', 'retain', 'dup', 'clientId', 'messageId', 'nl']);

/** A retained QoS 1/2 message of aedes's: its payload as latin1 and its QoS. */
class RetainedAtQos {
  constructor(readonly payload: string, readonly qos: number) {}
}

/** A retained message as kept: a QoS 0 payload (latin1), a QoS 1/2 one, or a packet kept whole. */
type Retained = string | RetainedAtQos | RetainedPacket;

function isAedesPacket(packet: RetainedPacket): boolean {
  if (packet.cmd !== 'publish' || !Buffer.isBuffer(packet.payload)) return false;
  for (const field in packet) if (!AEDES_PACKET_FIELDS.has(field)) return false;
  return true;
}

function kept(packet: RetainedPacket): Retained {
  if (!isAedesPacket(packet)) return { ...packet };
  const payload = packet.payload.toString('latin1');
  return packet.qos === 0 ? payload : new RetainedAtQos(payload, packet.qos);
}

function readBack(topic: string, value: Retained): RetainedPacket {
  if (typeof value === 'string') return { cmd: 'publish', topic, payload: Buffer.from(value, 'latin1'), qos: 0, retain: true };
  if (value instanceof RetainedAtQos) return { cmd: 'publish', topic, payload: Buffer.from(value.payload, 'latin1'), qos: value.qos, retain: true };
  return value;
}

export const hasWildcard = (filter: string): boolean => filter.includes('+') || filter.includes('#');

/** A subscription's options as aedes hands them (MQTT 5's rh, rap, nl undefined under 3.1.1). */
interface SubscriptionOptions { qos: number; rh?: number; rap?: boolean; nl?: boolean; subscriptionIdentifier?: number }

/**
 * qos (bits 0-1), rh + 1 (bits 2-3, 0 = undefined), rap and nl (2 bits each: 0 = undefined, 1 = false, 2 = true).
 * Options that do not fit (an identifier, an unexpected value) are kept as an object.
 */
function pack(sub: SubscriptionOptions): number | SubscriptionOptions {
  const flag = (v: unknown): number => (v === undefined ? 0 : v === false ? 1 : v === true ? 2 : -1);
  const rh = sub.rh === undefined ? 0 : sub.rh === 0 || sub.rh === 1 || sub.rh === 2 ? sub.rh + 1 : -1;
  const rap = flag(sub.rap);
  const nl = flag(sub.nl);
  if (sub.subscriptionIdentifier !== undefined || rh < 0 || rap < 0 || nl < 0 || !(sub.qos === 0 || sub.qos === 1 || sub.qos === 2)) {
    const record: SubscriptionOptions = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
    if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
    return record;
  }
  return sub.qos | (rh << 2) | (rap << 4) | (nl << 6);
}

function unpack(options: number | SubscriptionOptions): SubscriptionOptions {
  if (typeof options !== 'number') return { ...options };
  const flag = (bits: number): boolean | undefined => (bits === 0 ? undefined : bits === 2);
  const rh = (options >> 2) & 3;
  return { qos: options & 3, rh: rh === 0 ? undefined : rh - 1, rap: flag((options >> 4) & 3), nl: flag((options >> 6) & 3) };
}

const qosOf = (options: number | SubscriptionOptions): number => (typeof options === 'number' ? options & 3 : options.qos);

export class LeanMemoryPersistence extends MemoryPersistence {
  private retained = new Map<string, Retained>();
  /** ClientId → filter → options. */
  private readonly byClient = new Map<string, Map<string, number | SubscriptionOptions>>();
  /** Filter → its one client, or its clients. */
  private readonly byFilter = new Map<string, string | Set<string>>();
  /** Filters with wildcards (each value is the filter itself), for subscriptionsByTopic, in aedes-persistence's trie's order. */
  private readonly wildcards = new TopicMatcher<string>({ separator: '/', wildcardOne: '+', wildcardSome: '#', matchEmptyLevels: false });
  /** Subscriptions with QoS > 0 (what countOffline reports, as the parent's trie counts them). */
  private qosSubscriptions = 0;
  /** createRetainedStream(Combi) calls with a wildcard filter, which scan every retained topic. */
  retainedScans = 0;

  constructor() {
    super();
  }

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    if (packet.payload.length === 0) this.retained.delete(packet.topic);
    else this.retained.set(packet.topic, kept(packet));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.retainedMatching(patterns));
  }

  override createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  /** Each pattern's matches in turn (a message matching two patterns comes twice, as from the parent). */
  private retainedMatching(patterns: string[]): RetainedPacket[] {
    const found: RetainedPacket[] = [];
    let scanned = false;
    for (const pattern of patterns) {
      if (!hasWildcard(pattern)) {
        const value = this.retained.get(pattern);
        if (value !== undefined) found.push(readBack(pattern, value));
        continue;
      }
      scanned = true;
      const matcher = new QlobberTrue(QLOBBER_OPTIONS).add(pattern);
      for (const [topic, value] of this.retained) if (matcher.test(topic)) found.push(readBack(topic, value));
    }
    if (scanned) this.retainedScans++;
    return found;
  }

  override async addSubscriptions(client: { id: string }, subs: (SubscriptionOptions & { topic: string })[]): Promise<void> {
    let stored = this.byClient.get(client.id);
    if (!stored) this.byClient.set(client.id, (stored = new Map()));
    for (const sub of subs) {
      const before = stored.get(sub.topic);
      if (before === undefined) this.addClientToFilter(sub.topic, client.id);
      else if (qosOf(before) > 0) this.qosSubscriptions--;
      if (sub.qos > 0) this.qosSubscriptions++;
      stored.set(sub.topic, pack(sub));
    }
  }

  override async removeSubscriptions(client: { id: string }, topics: string[]): Promise<void> {
    const stored = this.byClient.get(client.id);
    if (!stored) return;
    for (const topic of topics) this.removeOne(client.id, stored, topic);
    if (stored.size === 0) this.byClient.delete(client.id);
  }

  override async cleanSubscriptions(client: { id: string }): Promise<void> {
    const stored = this.byClient.get(client.id);
    if (!stored) return;
    for (const topic of [...stored.keys()]) this.removeOne(client.id, stored, topic);
    this.byClient.delete(client.id);
  }

  override async subscriptionsByClient(client: { id: string }): Promise<(SubscriptionOptions & { topic: string })[]> {
    const stored = this.byClient.get(client.id);
    return stored ? [...stored].map(([topic, options]) => ({ topic, ...unpack(options) })) : [];
  }

  override async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.qosSubscriptions, clientsCount: this.byClient.size };
  }

  /** The QoS > 0 subscriptions matching a topic: for aedes, who gets a QoS 1/2 message queued. */
  override async subscriptionsByTopic(topic: string): Promise<(SubscriptionOptions & { clientId: string; topic: string })[]> {
    const found: (SubscriptionOptions & { clientId: string; topic: string })[] = [];
    const add = (filter: string): void => {
      const clients = this.byFilter.get(filter);
      if (clients === undefined) return;
      for (const clientId of typeof clients === 'string' ? [clients] : clients) {
        const options = this.byClient.get(clientId)?.get(filter);
        if (options === undefined || qosOf(options) === 0) continue;
        const { subscriptionIdentifier: _identifier, ...rest } = unpack(options);
        found.push({ clientId, topic: filter, ...rest });
      }
    };
    // The filter equal to the topic (in byFilter only, unless it has a wildcard character) comes where the parent's trie lists it.
    const exactElsewhere = (filters: string[]): void => { if (!hasWildcard(topic) && this.byFilter.has(topic)) filters.push(topic); };
    for (const filter of this.wildcards.match(topic, exactElsewhere)) add(filter);
    return found;
  }

  override getClientList(topic: string): Readable {
    const clients = this.byFilter.get(topic);
    return Readable.from(clients === undefined ? [] : typeof clients === 'string' ? [clients] : [...clients]);
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    this.retained.clear();
    this.byClient.clear();
    this.byFilter.clear();
  }

  private removeOne(clientId: string, stored: Map<string, number | SubscriptionOptions>, topic: string): void {
    const options = stored.get(topic);
    if (options === undefined) return;
    if (qosOf(options) > 0) this.qosSubscriptions--;
    stored.delete(topic);
    this.removeClientFromFilter(topic, clientId);
  }

  private addClientToFilter(filter: string, clientId: string): void {
    const clients = this.byFilter.get(filter);
    if (clients === undefined) {
      // The first client holds the filter alone, inline: the common case (one gateway connection) needs no Set.
      this.byFilter.set(filter, clientId);
      if (hasWildcard(filter)) this.wildcards.add(filter, filter);
    } else if (typeof clients === 'string') {
      this.byFilter.set(filter, new Set([clients, clientId]));
    } else {
      clients.add(clientId);
    }
  }

  private removeClientFromFilter(filter: string, clientId: string): void {
    const clients = this.byFilter.get(filter);
    if (clients === undefined) return;
    if (typeof clients === 'string') {
      if (clients !== clientId) return;
    } else {
      if (!clients.delete(clientId) || clients.size > 1) return;
      // Down to one: held inline again.
      if (clients.size === 1) return void this.byFilter.set(filter, clients.values().next().value!);
    }
    this.byFilter.delete(filter);
    if (hasWildcard(filter)) this.wildcards.remove(filter, filter);
  }
}
